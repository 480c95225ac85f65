package registryconf

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/aws/aws-sdk-go/aws/awserr"
	"github.com/distribution/distribution/v3/configuration"
	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
	"github.com/distribution/distribution/v3/registry/storage/driver/factory"
	// CheckStorage makes the driver the registry would: s3-aws here,
	// swift through render.go's import of internal/storage/swift.
	_ "github.com/distribution/distribution/v3/registry/storage/driver/s3-aws"
)

// storageCheckTimeout bounds CheckStorage: an endpoint that drops packets
// would otherwise hold a hook for the SDK's retries of a 30 s dial.
const storageCheckTimeout = 10 * time.Second

// StorageError is object storage that refused or did not answer the
// request the registry would make first. Problem is for the operator's
// status line: it names options, never values. Err is the driver's error,
// for the debug log (S3 errors carry codes and request ids, not keys).
type StorageError struct {
	Problem string
	Err     error
}

func (e *StorageError) Error() string { return e.Problem + ": " + e.Err.Error() }
func (e *StorageError) Unwrap() error { return e.Err }

// CheckStorage asks the storage cfg names what the registry's own health
// check asks (Stat of the root), with the same driver: a missing root is
// fine (an empty bucket or container), anything else that fails is a
// StorageError saying which options to look at. Only object storage (S3,
// Swift) is checked; the unit's own filesystem needs no network. For
// Swift the check logs in and creates the container if it is missing, as
// the registry's first push would.
func CheckStorage(ctx context.Context, cfg *configuration.Configuration) error {
	kind := cfg.Storage.Type()
	problem, ok := map[string]func(error) string{"s3": s3Problem, "swift": swiftProblem}[kind]
	if !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, storageCheckTimeout)
	defer cancel()
	d, err := factory.Create(ctx, kind, cfg.Storage.Parameters())
	if err != nil {
		if kind == "s3" {
			return &StorageError{Problem: "S3 storage cannot be set up from storage-s3-* (see juju debug-log)", Err: err}
		}
		return &StorageError{Problem: problem(err), Err: err}
	}
	// A driver that asks nothing as it is made (swift) sets itself up
	// here: login, container, capabilities.
	if s, ok := d.(interface{ Setup(context.Context) error }); ok {
		if err := s.Setup(ctx); err != nil {
			return &StorageError{Problem: problem(err), Err: err}
		}
	}
	_, err = d.Stat(ctx, "/")
	var missing storagedriver.PathNotFoundError
	if err == nil || errors.As(err, &missing) {
		return nil
	}
	return &StorageError{Problem: problem(err), Err: err}
}

// s3Problem says what an S3 error means for the operator.
func s3Problem(err error) string {
	var se storagedriver.Error // no Unwrap: look inside by hand
	if errors.As(err, &se) && se.Detail != nil {
		err = se.Detail
	}
	var ae awserr.Error
	if errors.As(err, &ae) {
		switch ae.Code() {
		case "SignatureDoesNotMatch", "InvalidAccessKeyId", "AccessDenied", "InvalidToken",
			"ExpiredToken", "InvalidSecurity", "AuthorizationHeaderMalformed", "Forbidden":
			return "S3 storage refused the credentials: check storage-s3-accesskey and storage-s3-secretkey"
		case "NoSuchBucket", "InvalidBucketName":
			return "S3 bucket not found: check storage-s3-bucket"
		case "PermanentRedirect", "IllegalLocationConstraintException":
			return "S3 bucket is in another region: check storage-s3-region"
		case "RequestError", "RequestCanceled":
			return unreachable(err)
		}
		var rf awserr.RequestFailure
		if errors.As(err, &rf) && rf.StatusCode() == 403 {
			return "S3 storage refused the credentials: check storage-s3-accesskey and storage-s3-secretkey"
		}
		return fmt.Sprintf("S3 storage refused the registry's request (%s): see juju debug-log", ae.Code())
	}
	return unreachable(err)
}

func unreachable(err error) string {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return "S3 storage did not answer within 10s: check storage-s3-regionendpoint"
	}
	return "Cannot reach S3 storage: check storage-s3-regionendpoint (see juju debug-log)"
}
