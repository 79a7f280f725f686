package policy

// The settings of the active check kinds. Each kind checks its own settings (kindSettings).

// HTTPCheck requests a URL and checks the answer.
type HTTPCheck struct{}

func (c *HTTPCheck) check(d *decoder, path string, m *Monitor) {}

// TCPCheck connects to host:port.
type TCPCheck struct{}

func (c *TCPCheck) check(d *decoder, path string, m *Monitor) {}

// DNSCheck resolves a name.
type DNSCheck struct{}

func (c *DNSCheck) check(d *decoder, path string, m *Monitor) {}

// TLSCheck checks a certificate.
type TLSCheck struct{}

func (c *TLSCheck) check(d *decoder, path string, m *Monitor) {}

// PingCheck sends ICMP echo requests.
type PingCheck struct{}

func (c *PingCheck) check(d *decoder, path string, m *Monitor) {}

// SQLCheck runs a query on a database server.
type SQLCheck struct{}

func (c *SQLCheck) check(d *decoder, path string, m *Monitor) {}
