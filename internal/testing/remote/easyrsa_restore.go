package remote

// Restore replaces the CA as easyrsa's `restore` action does with a
// backup of another PKI (layer-easyrsa src/actions/actions.py restore):
// a new CA and global client pair, and every requester's server
// certificate issued again from it. It returns easyrsa's unit bag after
// the restore, which the action sends to every related unit (set_ca,
// set_client_cert, set_cert per request); the caller publishes it.
func (e *EasyRSA) Restore() (map[string]string, error) {
	fresh, err := NewEasyRSA()
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.caCert, e.caKey, e.CAPEM = fresh.caCert, fresh.caKey, fresh.CAPEM
	e.ClientCert, e.ClientKey = fresh.ClientCert, fresh.ClientKey
	e.issued = map[string]string{}
	requests := make(map[string]map[string]string, len(e.Requests))
	for unit, bag := range e.Requests {
		requests[unit] = bag
	}
	e.mu.Unlock()
	return e.Answer(requests)
}
