package relation

import (
	"reflect"
	"testing"
)

func TestSortUnits(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want []string
	}{
		{"empty", nil, nil},
		{"numbers not strings", []string{"r/10", "r/2", "r/1"}, []string{"r/1", "r/2", "r/10"}},
		{"by application first", []string{"b/0", "a/5", "a/10"}, []string{"a/5", "a/10", "b/0"}},
		{"non-numeric after numbered", []string{"r/x", "r/3"}, []string{"r/3", "r/x"}},
		{"no slash sorts after numbered", []string{"r", "r/1"}, []string{"r/1", "r"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]string(nil), tt.in...)
			got := SortUnits(in)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("SortUnits(%v) = %v, want %v", tt.in, got, tt.want)
			}
			if !reflect.DeepEqual(in, tt.in) {
				t.Errorf("SortUnits changed its input to %v", in)
			}
		})
	}
}

func TestPeerAddresses(t *testing.T) {
	tests := []struct {
		name     string
		self     string
		selfAddr string
		peers    map[string]map[string]string
		want     []PeerBackend
	}{
		{
			name: "alone", self: "docker-registry/0", selfAddr: "10.0.0.5",
			want: []PeerBackend{{"docker-registry/0", "10.0.0.5", 5000}},
		},
		{
			name: "ourselves among peers, unit-number order",
			self: "docker-registry/2", selfAddr: "10.0.0.7",
			peers: map[string]map[string]string{
				"docker-registry/10": {"private-address": "10.0.0.9", "ingress-address": "192.168.0.9"},
				"docker-registry/1":  {"private-address": "10.0.0.6"},
			},
			want: []PeerBackend{
				{"docker-registry/1", "10.0.0.6", 5000},
				{"docker-registry/2", "10.0.0.7", 5000},
				{"docker-registry/10", "10.0.0.9", 5000},
			},
		},
		{
			name: "private-address preferred, ingress-address as fallback, none skipped",
			self: "r/0", selfAddr: "10.0.0.5",
			peers: map[string]map[string]string{
				"r/1": {"ingress-address": "fd00::6"},
				"r/2": {"egress-subnets": "10.0.0.8/32"},
				"r/3": {"private-address": "  "},
			},
			want: []PeerBackend{{"r/0", "10.0.0.5", 5000}, {"r/1", "fd00::6", 5000}},
		},
		{
			name: "our own bag in peers is overridden by selfAddr",
			self: "r/0", selfAddr: "10.0.0.5",
			peers: map[string]map[string]string{"r/0": {"private-address": "10.9.9.9"}},
			want:  []PeerBackend{{"r/0", "10.0.0.5", 5000}},
		},
		{
			name:  "no address of our own yet",
			self:  "r/0",
			peers: map[string]map[string]string{"r/1": {"private-address": "10.0.0.6"}},
			want:  []PeerBackend{{"r/1", "10.0.0.6", 5000}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ignored := PeerAddresses(tt.self, tt.selfAddr, tt.peers, 5000)
			if len(ignored) != 0 {
				t.Errorf("ignored = %v, want none", ignored)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("PeerAddresses = %v, want %v", got, tt.want)
			}
		})
	}
}
