package registryconf

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go/aws/awserr"
	"github.com/distribution/distribution/v3/configuration"
	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
)

// The real s3 driver against a loopback port nothing listens on: the
// check fails fast and names the endpoint option, never a key. (Refused
// keys against a real S3 service: tests/e2e TestS3BadInput.)
func TestCheckStorageUnreachableEndpoint(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := &configuration.Configuration{Storage: configuration.Storage{"s3": configuration.Parameters{
		"region": "us-east-1", "bucket": "registry", "regionendpoint": "http://" + addr,
		"accesskey": "AKIDEXAMPLE", "secretkey": "secret-never-shown", "secure": false, "forcepathstyle": true,
	}}}
	err = CheckStorage(context.Background(), cfg)
	var se *StorageError
	if !errors.As(err, &se) || !strings.Contains(se.Problem, "storage-s3-regionendpoint") {
		t.Fatalf("CheckStorage = %v, want a StorageError naming storage-s3-regionendpoint", err)
	}
	if strings.Contains(err.Error(), "secret-never-shown") {
		t.Error("the error quotes the secret key")
	}
}

func TestCheckStorageSkipsFilesystem(t *testing.T) {
	cfg := &configuration.Configuration{Storage: configuration.Storage{"filesystem": configuration.Parameters{"rootdirectory": t.TempDir()}}}
	if err := CheckStorage(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
}

func TestS3Problem(t *testing.T) {
	wrap := func(code string, status int) error {
		return storagedriver.Error{DriverName: "s3aws", Detail: awserr.NewRequestFailure(awserr.New(code, "message", nil), status, "req-1")}
	}
	for _, c := range []struct {
		err  error
		want string
	}{
		{wrap("SignatureDoesNotMatch", 403), "check storage-s3-accesskey and storage-s3-secretkey"},
		{wrap("InvalidAccessKeyId", 403), "check storage-s3-accesskey and storage-s3-secretkey"},
		{wrap("SomethingNew", 403), "check storage-s3-accesskey and storage-s3-secretkey"},
		{wrap("NoSuchBucket", 404), "check storage-s3-bucket"},
		{wrap("PermanentRedirect", 301), "check storage-s3-region"},
		{wrap("InternalError", 500), "(InternalError): see juju debug-log"},
		{awserr.New("RequestError", "send request failed", &net.OpError{Op: "dial", Err: errors.New("connection refused")}), "Cannot reach S3 storage"},
		{context.DeadlineExceeded, "did not answer within 10s"},
	} {
		if got := s3Problem(c.err); !strings.Contains(got, c.want) {
			t.Errorf("s3Problem(%v) = %q, want %q in it", c.err, got, c.want)
		}
	}
}
