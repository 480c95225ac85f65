package machine

import (
	"reflect"
	"testing"
)

func TestBootOrder(t *testing.T) {
	m := newManager(nil, "", "")
	units := map[string]string{
		"b.service":  "[Unit]\nAfter=a.service\n[Service]\nExecStart=/bin/true\n",
		"a.service":  "[Unit]\nAfter=z.service\n[Service]\nExecStart=/bin/true\n",
		"z.service":  "[Service]\nExecStart=/bin/true\n",
		"c.service":  "[Unit]\nBefore=z.service\n[Service]\nExecStart=/bin/true\n",
		"reg.socket": "[Socket]\nListenStream=5000\n",
	}
	for name, data := range units {
		u, err := ParseUnit(name, []byte(data))
		if err != nil {
			t.Fatal(err)
		}
		m.units[name] = &unitState{name: name, unit: u}
	}
	got := m.bootOrder([]string{"z.service", "b.service", "reg.socket", "a.service", "c.service", "b.service"})
	want := []string{"reg.socket", "c.service", "z.service", "a.service", "b.service"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("boot order %v, want %v", got, want)
	}
}
