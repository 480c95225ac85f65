package remote

import (
	"encoding/json"
	"errors"
	"fmt"
)

// RegistryView is the docker-registry relation as a requiring worker
// (containerd, docker, kubernetes-worker) sees it: charms.reactive decodes
// every value with json.loads and treats None as absent.
type RegistryView struct {
	Netloc, URL      string
	User, Password   string
	HasAuth, HasTLS  bool
	CA               string
	RawNetloc, RawCA string
	NullAuth, NullCA bool
}

// ReadRegistry decodes the provider's unit bag as interface-docker-registry's
// requires.py does, and rejects what would fool it: an empty string where
// "absent" was meant (has_auth_basic would report true with empty
// credentials), or a value that is not JSON.
func ReadRegistry(bag map[string]string) (RegistryView, error) {
	var v RegistryView
	dec := func(key string) (*string, error) {
		raw, ok := bag[key]
		if !ok || raw == "" {
			return nil, fmt.Errorf("%s missing (reactive publishes every key, null for absent)", key)
		}
		var s *string
		if err := json.Unmarshal([]byte(raw), &s); err != nil {
			if key == "basic_password" {
				return nil, fmt.Errorf("%s is not a JSON string or null", key)
			}
			return nil, fmt.Errorf("%s is not a JSON string or null: %q", key, raw)
		}
		if s != nil && *s == "" {
			return nil, fmt.Errorf("%s is an empty string; absent must be null", key)
		}
		return s, nil
	}
	var errs []error
	get := func(key string) *string {
		s, err := dec(key)
		errs = append(errs, err)
		return s
	}
	netloc, url, user, pw, ca := get("registry_netloc"), get("registry_url"), get("basic_user"), get("basic_password"), get("tls_ca")
	if err := errors.Join(errs...); err != nil {
		return v, err
	}
	if netloc == nil {
		return v, errors.New("registry_netloc is null: not ready")
	}
	v.Netloc = *netloc
	if url != nil {
		v.URL = *url
	}
	if (user == nil) != (pw == nil) {
		return v, errors.New("basic_user and basic_password must be both set or both null")
	}
	if user != nil {
		v.HasAuth, v.User, v.Password = true, *user, *pw
	}
	if ca != nil {
		v.HasTLS, v.CA = true, *ca
	}
	return v, nil
}
