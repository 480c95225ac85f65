// Package redisconn opens clients of the redis that holds the shared
// blob-descriptor cache, from distribution's redis configuration, for the
// charm's own questions (the registry's health check, garbage collection).
// distribution builds its own pool from the same section.
package redisconn

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/redis/go-redis/v9"
)

// New is a client of the same redis as distribution's pool: the same
// addresses, database, credentials, timeouts and TLS trust, one
// connection, no retries (a question the caller asks again later).
func New(r configuration.Redis) (redis.UniversalClient, error) {
	o := r.Options
	opts := &redis.UniversalOptions{
		Addrs: o.Addrs, DB: o.DB, Username: o.Username, Password: o.Password,
		ClientName: o.ClientName, DialTimeout: o.DialTimeout,
		ReadTimeout: o.ReadTimeout, WriteTimeout: o.WriteTimeout,
		MaxRetries: -1, PoolSize: 1, DisableIdentity: true,
	}
	if len(r.TLS.RootCAs) > 0 {
		pool := x509.NewCertPool()
		for _, path := range r.TLS.RootCAs {
			pem, err := os.ReadFile(path)
			if err != nil {
				return nil, fmt.Errorf("cannot read the redis CA: %w", err)
			}
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("cannot read the redis CA %s: no PEM certificate", path)
			}
		}
		opts.TLSConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return redis.NewUniversalClient(opts), nil
}
