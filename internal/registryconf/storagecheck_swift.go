package registryconf

import (
	"context"
	"errors"
	"net"

	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
	"github.com/ncw/swift/v2"
)

// swiftProblem says what a Swift error means for the operator. ncw/swift
// reports HTTP answers as *swift.Error values with the status code.
func swiftProblem(err error) string {
	var de storagedriver.Error // no Unwrap: look inside by hand
	if errors.As(err, &de) && de.Detail != nil {
		err = de.Detail
	}
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return "Swift did not answer within 10s: check storage-swift-authurl"
	case errors.Is(err, swift.AuthorizationFailed), errors.Is(err, swift.BadRequest):
		return "Swift refused the login: check storage-swift-username, storage-swift-password, storage-swift-tenant and storage-swift-domain"
	case errors.Is(err, swift.Forbidden):
		return "Swift refused access to the container: check storage-swift-container and the user's roles"
	}
	var se *swift.Error
	if errors.As(err, &se) {
		if se.StatusCode == 0 {
			// The login worked but named no object store: ncw/swift
			// found no endpoint for the region in the catalogue.
			return "Swift login has no object-store endpoint: check storage-swift-region and storage-swift-tenant"
		}
		return "Swift refused the registry's request (" + se.Error() + "): see juju debug-log"
	}
	if errors.As(err, &ne) {
		return "Cannot reach Swift: check storage-swift-authurl (see juju debug-log)"
	}
	return "Swift storage cannot be set up from storage-swift-* (see juju debug-log)"
}
