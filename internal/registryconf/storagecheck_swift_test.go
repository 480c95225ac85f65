package registryconf

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/ncw/swift/v2"
	"github.com/ncw/swift/v2/swifttest"
)

func swiftStorage(authURL, password, container string) *configuration.Configuration {
	return &configuration.Configuration{Storage: configuration.Storage{"swift": configuration.Parameters{
		"authurl": authURL, "authversion": 1, "username": "swifttest", "password": password, "container": container,
	}}}
}

// The real driver against swifttest: good credentials pass (and the
// container exists afterwards, as the registry would create it); a wrong
// password names the login options and never the password; a dead
// endpoint names the URL option.
func TestCheckStorageSwift(t *testing.T) {
	srv, err := swifttest.NewSwiftServer("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx := context.Background()

	if err := CheckStorage(ctx, swiftStorage(srv.AuthURL, "swifttest", "fresh")); err != nil {
		t.Fatalf("good credentials: %v", err)
	}
	conn := &swift.Connection{AuthUrl: srv.AuthURL, UserName: "swifttest", ApiKey: "swifttest"}
	if _, _, err := conn.Container(ctx, "fresh"); err != nil {
		t.Errorf("container not created: %v", err)
	}

	const secret = "wrong-Secret-pw-5521"
	err = CheckStorage(ctx, swiftStorage(srv.AuthURL, secret, "fresh"))
	var se *StorageError
	if !errors.As(err, &se) || !strings.Contains(se.Problem, "storage-swift-password") {
		t.Fatalf("wrong password: %v, want a StorageError naming storage-swift-password", err)
	}
	if strings.Contains(err.Error(), secret) {
		t.Error("the error quotes the password")
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String() + "/auth/v1.0"
	ln.Close()
	err = CheckStorage(ctx, swiftStorage(dead, secret, "c"))
	if !errors.As(err, &se) || !strings.Contains(se.Problem, "storage-swift-authurl") {
		t.Fatalf("dead endpoint: %v, want a StorageError naming storage-swift-authurl", err)
	}
	if strings.Contains(err.Error(), secret) {
		t.Error("the error quotes the password")
	}
}

func TestSwiftProblem(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{swift.AuthorizationFailed, "check storage-swift-username, storage-swift-password"},
		{fmt.Errorf("swift: cannot create or open container: %w", swift.Forbidden), "check storage-swift-container"},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), "did not answer within 10s"},
		{&swift.Error{StatusCode: 0, Text: "Response didn't have storage url and auth token"}, "check storage-swift-region"},
		{&swift.Error{StatusCode: 503, Text: "Service Unavailable"}, "Service Unavailable"},
		{errors.New("swift: the cluster does not offer static large objects"), "cannot be set up"},
	} {
		if got := swiftProblem(tt.err); !strings.Contains(got, tt.want) {
			t.Errorf("swiftProblem(%v) = %q, want ...%s...", tt.err, got, tt.want)
		}
	}
}
