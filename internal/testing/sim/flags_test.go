package sim

import (
	"slices"
	"testing"
)

var testDefs = []flagDef{flagRelation, flagApp, formatFlag(), {short: "a", long: "all", isBool: true}}

func TestParseFlagsLikeGnuflag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		rel  string
		app  bool
		rest []string
	}{
		{[]string{"-r5"}, "5", false, nil},
		{[]string{"-r", "peer:0", "key"}, "peer:0", false, []string{"key"}},
		{[]string{"key", "--relation=7", "unit/0"}, "7", false, []string{"key", "unit/0"}},
		{[]string{"--r", "3"}, "3", false, nil},
		{[]string{"-r=5"}, "=5", false, nil}, // gnuflag keeps the "="
		{[]string{"--app=True", "-r", "1"}, "1", true, nil},
		{[]string{"--app=false", "-"}, "", false, []string{"-"}},
		{[]string{"-ar", "2"}, "2", false, nil}, // bundled: -a then -r 2
		{[]string{"--", "-r", "--app"}, "", false, []string{"-r", "--app"}},
	} {
		p, err := parseFlags(testDefs, tc.args)
		if err != nil {
			t.Errorf("%q: %v", tc.args, err)
			continue
		}
		if p.get("relation") != tc.rel || p.has("app") != tc.app || !slices.Equal(p.args, tc.rest) {
			t.Errorf("%q: relation %q app %v args %q", tc.args, p.get("relation"), p.has("app"), p.args)
		}
	}
	if p, _ := parseFlags(testDefs, []string{"-ar", "2"}); !p.has("all") {
		t.Error("-a in a bundle not set")
	}
}

func TestParseFlagsErrors(t *testing.T) {
	for want, args := range map[string][]string{
		"option provided but not defined: -x":                                                        {"-x"},
		"option provided but not defined: --nope":                                                    {"--nope=1"},
		"option needs an argument: -r":                                                               {"-r"},
		"option needs an argument: --format":                                                         {"--format"},
		`invalid value "xml" for option --format: unknown format "xml"`:                              {"--format=xml"},
		`empty flag in argument "--=x"`:                                                              {"--=x"},
		`invalid value "maybe" for option --app: strconv.ParseBool: parsing "maybe": invalid syntax`: {"--app=maybe"},
	} {
		_, err := parseFlags(testDefs, args)
		if err == nil || err.Error() != want {
			t.Errorf("%q: %v, want %q", args, err, want)
		}
	}
}
