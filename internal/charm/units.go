package charm

import (
	"sort"
	"strconv"
	"strings"
)

// sortedUnits orders unit names by application, then unit number, so that
// "app/10" comes after "app/2" as Juju users expect.
func sortedUnits(units []string) []string {
	out := append([]string(nil), units...)
	sort.Slice(out, func(i, j int) bool {
		ai, ni := splitUnit(out[i])
		aj, nj := splitUnit(out[j])
		if ai != aj {
			return ai < aj
		}
		return ni < nj
	})
	return out
}

func splitUnit(u string) (string, int) {
	app, num, _ := strings.Cut(u, "/")
	n, err := strconv.Atoi(num)
	if err != nil {
		n = -1
	}
	return app, n
}
