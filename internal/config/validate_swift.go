package config

import (
	"net/url"

	"github.com/canonical/docker-registry-charm/internal/storage/swift"
)

// checkSwift checks the Swift options when storage-swift-authurl is set:
// the identity API version must be readable from the URL (the driver is
// told it explicitly), and each version needs its own set of options.
// Messages never quote storage-swift-password.
func (c Config) checkSwift(v *validator) {
	if !c.UsesSwift() {
		return
	}
	version, err := swift.AuthVersion(c.StorageSwiftAuthURL)
	if err != nil {
		v.add("storage-swift-authurl", "must be an absolute http or https URL whose path names the identity API version "+
			"(e.g. https://keystone.example.com:5000/v3, …/v2.0, or https://swift.example.com/auth/v1.0)")
	} else if u, err := url.Parse(c.StorageSwiftAuthURL); err == nil && u.User != nil {
		v.add("storage-swift-authurl", "must not carry credentials; use storage-swift-username and storage-swift-password")
	}
	required := func(option, value, why string) {
		if value == "" {
			v.add(option, "must be set when storage-swift-authurl is set%s", why)
		}
	}
	required("storage-swift-username", c.StorageSwiftUsername, "")
	required("storage-swift-password", c.StorageSwiftPassword, "")
	if version >= 2 {
		required("storage-swift-tenant", c.StorageSwiftTenant, " to a Keystone URL (the project that owns the container)")
	}
	if version == 3 {
		required("storage-swift-domain", c.StorageSwiftDomain, " to a Keystone v3 URL (the user's and project's domain, e.g. Default)")
	}
	if err := swift.CheckContainerName(c.StorageSwiftContainer); err != nil {
		v.add("storage-swift-container", "must be a Swift container name: 1 to 256 bytes, no \"/\" and no control characters")
	}
}
