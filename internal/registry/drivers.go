package registry

// The registry supports exactly what this import block registers; a config
// naming anything else fails to build an App and is refused on start and on
// reload.
//
// Storage drivers:
//   - filesystem: the default, /var/lib/registry on the unit;
//   - s3-aws: S3 and S3-compatible object storage (shared storage for
//     active/active units);
//   - swift: OpenStack Swift (internal/storage/swift, ours: distribution
//     v3 has none), shared storage like S3;
//   - inmemory: tests only — its content lives in the driver instance, so a
//     reload (which builds a new driver) starts it empty.
//
// Access controllers: charm-htpasswd (basic auth; ours,
// internal/registry/auth/charmhtpasswd: it verifies each credential with
// bcrypt once, not on every request, and never creates a missing file) and
// token (an external token service). distribution's "htpasswd" is not
// linked: it creates a missing file with a random password that it logs.
// The pull-through cache (proxy.remoteurl) is compiled into handlers and
// needs no import here.
//
// Deliberately absent: azure and gcs (no charm options for them), the
// storage middlewares (cloudfront, redirect, rewrite) and the "silly" test
// access controller.
import (
	_ "github.com/distribution/distribution/v3/registry/auth/token"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/s3-aws"

	_ "github.com/canonical/docker-registry-charm/internal/registry/auth/charmhtpasswd"
	_ "github.com/canonical/docker-registry-charm/internal/storage/swift"
)
