package juju

import "context"

// Network is network-get's view of one binding (an endpoint or extra
// binding): where to listen, what to tell remote units, and the subnets
// traffic from this unit comes from.
type Network struct {
	BindAddresses    []BindAddress `json:"bind-addresses"`
	IngressAddresses []string      `json:"ingress-addresses"`
	EgressSubnets    []string      `json:"egress-subnets"`
}

// BindAddress is one interface of a binding.
type BindAddress struct {
	MACAddress    string    `json:"mac-address"`
	InterfaceName string    `json:"interface-name"`
	Addresses     []Address `json:"addresses"`
}

// Address is one address of an interface.
type Address struct {
	Hostname string `json:"hostname"`
	Value    string `json:"value"`
	CIDR     string `json:"cidr"`
	// Address is the field's name before Juju 2.9; NetworkGet copies it
	// into Value.
	Address string `json:"address"`
}

// NetworkGet returns the network of a binding, as seen from relation relID
// when given: network-get [-r ID] --format=json BINDING.
func (c *Client) NetworkGet(ctx context.Context, binding, relID string) (Network, error) {
	var n Network
	args := append(relationArgs(relID), "--format=json", binding)
	if err := c.runJSON(ctx, &n, "network-get", args...); err != nil {
		return Network{}, err
	}
	for i := range n.BindAddresses {
		for j := range n.BindAddresses[i].Addresses {
			a := &n.BindAddresses[i].Addresses[j]
			if a.Value == "" {
				a.Value = a.Address
			}
		}
	}
	return n, nil
}

// IngressAddress returns the first ingress address, the one remote units
// should use to reach this unit, or "" when there is none.
func (n Network) IngressAddress() string {
	if len(n.IngressAddresses) == 0 {
		return ""
	}
	return n.IngressAddresses[0]
}

// BindAddress returns the first bind address, the one to listen on, or ""
// when there is none.
func (n Network) BindAddress() string {
	for _, b := range n.BindAddresses {
		for _, a := range b.Addresses {
			if a.Value != "" {
				return a.Value
			}
		}
	}
	return ""
}
