package storagewait

import (
	"net/http"
	"testing"
	"time"
)

// restoreDefaults puts the process's HTTP defaults back after the test.
func restoreDefaults(t *testing.T) *http.Transport {
	tr := http.DefaultTransport.(*http.Transport)
	savedTimeout, savedClient := tr.ResponseHeaderTimeout, http.DefaultClient.Transport
	t.Cleanup(func() { tr.ResponseHeaderTimeout, http.DefaultClient.Transport = savedTimeout, savedClient })
	return tr
}

func TestBoundSetsBothClients(t *testing.T) {
	tr := restoreDefaults(t)
	tr.ResponseHeaderTimeout, http.DefaultClient.Transport = 0, nil
	Bound(7 * time.Second)
	if tr.ResponseHeaderTimeout != 7*time.Second {
		t.Errorf("default transport timeout = %s, want 7s", tr.ResponseHeaderTimeout)
	}
	own, ok := http.DefaultClient.Transport.(*http.Transport)
	if !ok || own == tr {
		t.Fatalf("default client transport = %v, want a clone of the default transport", http.DefaultClient.Transport)
	}
	if own.ResponseHeaderTimeout != 7*time.Second {
		t.Errorf("default client timeout = %s, want 7s", own.ResponseHeaderTimeout)
	}
}

func TestBoundKeepsWhatIsSet(t *testing.T) {
	tr := restoreDefaults(t)
	theirs := &http.Transport{}
	tr.ResponseHeaderTimeout, http.DefaultClient.Transport = time.Second, theirs
	Bound(time.Minute)
	if tr.ResponseHeaderTimeout != time.Second {
		t.Errorf("default transport timeout = %s, want the 1s already set", tr.ResponseHeaderTimeout)
	}
	if http.DefaultClient.Transport != theirs {
		t.Error("the default client's own transport was replaced")
	}
}
