package e2e

import (
	"context"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The OCI distribution-spec conformance suite, v3-compatible profile (the
// features distribution lacks switched off: sha512, the referrers API,
// OCI-Subject), against the charm-deployed registry with TLS from blobs and
// basic auth. The suite runs on a client machine of the cloud, trusting
// the CA through SSL_CERT_FILE; every test must pass.
func TestOCIConformance(t *testing.T) {
	bin := conformanceBinary(t)
	u := regDeploy(t, nil)
	pki := newRegPKI(t)
	pass := newPassword(t)
	// verify-if-given: the suite presents no client certificate.
	cfg := pki.TLSConfig(t, u.Addr, "verify-if-given")
	cfg["auth-basic-password"] = pass
	cfg["storage-delete"] = true
	u.Configure(cfg)
	u.WantReady(5000, "https")

	client, err := u.E.Cloud.NewMachine("client")
	if err != nil {
		t.Fatal(err)
	}
	if err := client.WriteFile("/root/ca.crt", pki.CAPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	results := t.TempDir() // /tmp is the host's on every machine
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := client.Command(ctx, bin)
	cmd.Dir = results
	cmd.Env = append(client.DefaultEnv(),
		"SSL_CERT_FILE=/root/ca.crt",
		"OCI_REGISTRY="+u.Netloc(5000),
		"OCI_TLS=enabled",
		"OCI_USERNAME=admin",
		"OCI_PASSWORD="+pass,
		"OCI_REPO1=conformance/repo1",
		"OCI_REPO2=conformance/repo2",
		"OCI_RESULTS_DIR="+results,
		"OCI_DATA_SHA512=false",
		"OCI_API_REFERRER=false",
		"OCI_DATA_SUBJECT=false",
		"OCI_DATA_SUBJECT_MISSING=false",
		"OCI_DATA_SUBJECT_LIST=false",
	)
	start := time.Now()
	res, err := cmd.Result()
	if err != nil {
		t.Fatalf("cannot run the conformance suite on the client machine: %v", err)
	}
	took := time.Since(start)
	suite, err := readJunit(filepath.Join(results, "junit.xml"))
	if err != nil {
		t.Fatalf("conformance suite exited %d without a readable junit.xml: %v\n%s", res.ExitCode, err, tail(string(res.Stderr), 40))
	}
	t.Logf("OCI conformance: %d tests, %d passed, %d failed, %d errors, %d skipped in %v (exit %d)",
		suite.Tests, suite.passed(), suite.Failures, suite.Errors, suite.Skipped, took.Round(time.Millisecond), res.ExitCode)
	if bad := suite.notPassed(); len(bad) > 0 || res.ExitCode != 0 || suite.Tests == 0 {
		t.Fatalf("conformance suite exit %d, %d of %d tests did not pass:\n%s", res.ExitCode, len(bad), suite.Tests, strings.Join(bad, "\n"))
	}
	for _, c := range suite.Cases {
		if c.Skip != nil {
			t.Logf("skipped: %s/%s: %s", c.Classname, c.Name, c.Skip.Message)
		}
	}
}

// conformanceBinary finds the suite that `make tools` installs. Outside CI
// a missing binary skips the test; in CI it is a failure.
func conformanceBinary(t *testing.T) string {
	t.Helper()
	var candidates []string
	if d := os.Getenv("TOOLS_DIR"); d != "" {
		candidates = append(candidates, filepath.Join(d, "conformance"))
	}
	candidates = append(candidates, filepath.Join(RepoRoot(), ".cache", "tools", "conformance"))
	for _, c := range candidates {
		if fi, err := os.Stat(c); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			abs, _ := filepath.Abs(c)
			return abs
		}
	}
	msg := fmt.Sprintf("the OCI conformance suite is not installed (looked for %s); run `make tools-conformance`", strings.Join(candidates, ", "))
	if os.Getenv("CI") != "" && os.Getenv("CI") != "false" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

type junitSuites struct {
	Suites []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string `xml:"name,attr"`
	Classname string `xml:"classname,attr"`
	Status    string `xml:"status,attr"`
	Failure   *struct {
		Message string `xml:"message,attr"`
	} `xml:"failure"`
	Error *struct {
		Message string `xml:"message,attr"`
	} `xml:"error"`
	Skip *struct {
		Message string `xml:"message,attr"`
	} `xml:"skipped"`
}

func (s junitSuite) passed() int { return s.Tests - s.Failures - s.Errors - s.Skipped }

// notPassed names each failed or errored test with the suite's message.
func (s junitSuite) notPassed() []string {
	var out []string
	for _, c := range s.Cases {
		switch {
		case c.Failure != nil:
			out = append(out, fmt.Sprintf("FAIL %s/%s: %s", c.Classname, c.Name, c.Failure.Message))
		case c.Error != nil:
			out = append(out, fmt.Sprintf("ERROR %s/%s: %s", c.Classname, c.Name, c.Error.Message))
		}
	}
	return out
}

// readJunit sums the suites of a junit.xml.
func readJunit(path string) (junitSuite, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return junitSuite{}, err
	}
	var all junitSuites
	if err := xml.Unmarshal(b, &all); err != nil {
		return junitSuite{}, err
	}
	if len(all.Suites) == 0 {
		return junitSuite{}, fmt.Errorf("no test suite in %s", path)
	}
	var sum junitSuite
	for _, s := range all.Suites {
		sum.Tests += s.Tests
		sum.Failures += s.Failures
		sum.Errors += s.Errors
		sum.Skipped += s.Skipped
		sum.Cases = append(sum.Cases, s.Cases...)
	}
	return sum, nil
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
