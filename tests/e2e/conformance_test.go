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

	"github.com/canonical/docker-registry-charm/internal/testing/deploy"
)

// The OCI distribution-spec conformance suite, v3-compatible profile (the
// features distribution lacks switched off: sha512, the referrers API,
// OCI-Subject), against the charm-deployed registry with TLS from blobs and
// basic auth. The suite runs on a client machine of the cloud, trusting
// the CA through SSL_CERT_FILE; every test must pass.
func TestOCIConformance(t *testing.T) { ociConformance(t, nil) }

// ociConformance runs the suite; storage, if given, adds the options of
// the storage to run it on (the unit's filesystem otherwise).
func ociConformance(t *testing.T, storage func(u *regUnit) map[string]any) {
	bin := conformanceBinary(t)
	u := regDeploy(t, nil)
	pki := newRegPKI(t)
	pass := newPassword(t)
	// verify-if-given: the suite presents no client certificate.
	cfg := pki.TLSConfig(t, u.Addr, "verify-if-given")
	cfg["auth-basic-password"] = pass
	cfg["storage-delete"] = true
	if storage != nil {
		for k, v := range storage(u) {
			cfg[k] = v
		}
	}
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
	passed, skipped := suite.count("passed"), suite.count("skipped")
	t.Logf("OCI conformance: %d test cases: %d passed, %d skipped or disabled by the profile, %d failed, %d errors, in %v (exit %d); "+
		"suite totals: %d tests, %d skipped, %d disabled",
		len(suite.Cases), passed, skipped, suite.Failures, suite.Errors, took.Round(time.Millisecond), res.ExitCode,
		suite.Tests, suite.Skipped, suite.Disabled)
	bad := suite.notPassed()
	if len(bad) > 0 || suite.Failures+suite.Errors > 0 || res.ExitCode != 0 || passed == 0 {
		t.Fatalf("conformance suite exit %d, %d failures, %d errors:\n%s", res.ExitCode, suite.Failures, suite.Errors, strings.Join(bad, "\n"))
	}
	var names []string
	for _, c := range suite.Cases {
		if c.Status == "skipped" && len(names) < 12 {
			names = append(names, c.Name)
		}
	}
	if len(names) > 0 {
		t.Logf("skipped or disabled (first %d): %s", len(names), strings.Join(names, "; "))
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
	candidates = append(candidates, filepath.Join(deploy.RepoRoot(), ".cache", "tools", "conformance"))
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

// junitSuite is what the suite writes: counts per status on the suite,
// and each test case's status ("passed", "skipped" for skipped and
// disabled tests, "failure", "error") with its errors as system-out.
type junitSuite struct {
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Disabled int         `xml:"disabled,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name   string `xml:"name,attr"`
	Status string `xml:"status,attr"`
	Out    string `xml:"system-out"`
}

func (s junitSuite) count(status string) int {
	n := 0
	for _, c := range s.Cases {
		if c.Status == status {
			n++
		}
	}
	return n
}

// notPassed names each test case that neither passed nor was skipped by
// the profile, with the suite's errors.
func (s junitSuite) notPassed() []string {
	var out []string
	for _, c := range s.Cases {
		if c.Status != "passed" && c.Status != "skipped" {
			out = append(out, fmt.Sprintf("%s %s: %s", c.Status, c.Name, strings.TrimSpace(c.Out)))
		}
	}
	return out
}

// readJunit merges the suites of a junit.xml.
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
		sum.Disabled += s.Disabled
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

// The junit.xml reading must see a failure where the suite reports one
// (its test cases carry the status as an attribute, not as elements).
func TestConformanceJunitReportsFailures(t *testing.T) {
	path := filepath.Join(t.TempDir(), "junit.xml")
	xml := `<testsuites tests="3" failures="1" errors="0" skipped="1">
  <testsuite name="OCI Conformance Test" tests="3" failures="1" errors="0" skipped="1" time="1">
    <testcase name="OCI Conformance Test/ping" time="0.1" status="passed"></testcase>
    <testcase name="OCI Conformance Test/sha512 blobs" time="0" status="skipped"></testcase>
    <testcase name="OCI Conformance Test/blobs/blob-delete" time="0.1" status="failure"><system-out>blob delete failed: 405</system-out></testcase>
  </testsuite>
</testsuites>`
	if err := os.WriteFile(path, []byte(xml), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := readJunit(path)
	if err != nil {
		t.Fatal(err)
	}
	bad := s.notPassed()
	if s.count("passed") != 1 || s.count("skipped") != 1 || len(bad) != 1 || !strings.Contains(bad[0], "blob-delete: blob delete failed: 405") {
		t.Fatalf("passed %d, skipped %d, not passed %q", s.count("passed"), s.count("skipped"), bad)
	}
}
