package relation

import (
	"cmp"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// SortUnits sorts unit names by application, then by unit number
// ("app/2" before "app/10"), returning a new slice. Names without a
// number sort after numbered ones of the same application, by name.
func SortUnits(units []string) []string {
	return slices.SortedStableFunc(slices.Values(units), compareUnits)
}

// sortedUnits is the keys of a map by unit name, in SortUnits order.
func sortedUnits[V any](m map[string]V) []string {
	return slices.SortedStableFunc(maps.Keys(m), compareUnits)
}

func compareUnits(a, b string) int {
	appA, numA, okA := splitUnit(a)
	appB, numB, okB := splitUnit(b)
	if appA != appB {
		return strings.Compare(appA, appB)
	}
	if okA != okB {
		if okA {
			return -1
		}
		return 1
	}
	if okA && numA != numB {
		return cmp.Compare(numA, numB)
	}
	return strings.Compare(a, b)
}

func splitUnit(unit string) (app string, num int, ok bool) {
	i := strings.LastIndexByte(unit, '/')
	if i < 0 {
		return unit, 0, false
	}
	n, err := strconv.Atoi(unit[i+1:])
	if err != nil || n < 0 {
		return unit[:i], 0, false
	}
	return unit[:i], n, true
}
