package charm

// Drive is how apply has the service use what changed, decided in plan
// from what changed and whether the registry answered when observed.
type Drive int

const (
	// driveNothing: the registry answers and nothing it reads or runs
	// changed; systemd is not asked anything.
	driveNothing Drive = iota
	// driveReload: only what the registry reads changed and it answers:
	// it reloads in place over its control socket, dropping nothing.
	driveReload
	// driveSystemd: anything else (a new binary, unit, environment or
	// port, or a registry that does not answer): systemd's view of the
	// units decides between start, restart and a new socket.
	driveSystemd
	// driveStop: the operator stopped it, or a series upgrade runs.
	driveStop
)

func (d Drive) String() string {
	return [...]string{"nothing", "reload", "systemd", "stop"}[d]
}

// planDrive decides Serving, Tell and Drive. Tell is everything the
// service has not been told yet: this hook's changes, those an earlier
// hook recorded before it was killed (State.Pending), and a reload the
// registry refused, retried until it takes.
func planDrive(o *Observed, d *Desired) {
	st := o.Host.State
	d.Serving = !st.Stopped && !st.SeriesUpgrade
	d.Tell = st.Pending
	d.Tell.add(d.Changes)
	d.Tell.Served = d.Tell.Served || st.ReloadPending
	onlyServed := d.Tell == Changes{Served: true}
	switch {
	case !d.Serving:
		d.Drive = driveStop
	case !o.Answers:
		d.Drive = driveSystemd
	case d.Tell == Changes{}:
		d.Drive = driveNothing
	case onlyServed:
		d.Drive = driveReload
	default:
		d.Drive = driveSystemd
	}
}
