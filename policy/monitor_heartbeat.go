package policy

// HeartbeatCheck is a passive monitor: a job pings Upkeep.
type HeartbeatCheck struct{}

func (c *HeartbeatCheck) check(d *decoder, path string, m *Monitor) {}
