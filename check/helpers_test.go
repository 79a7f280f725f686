package check

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/policy"
)

// monitor loads a one-monitor policy whose check is kind (a YAML flow mapping such as
// `http: {url: "..."}`), so that tests get the defaults the loader fills in. extra adds
// monitor settings ("timeout: 500ms").
func monitor(t *testing.T, kind string, extra ...string) policy.Monitor {
	t.Helper()
	return monitorEnv(t, nil, kind, extra...)
}

// monitorEnv is monitor with environment variables for ${VAR} references.
func monitorEnv(t *testing.T, env map[string]string, kind string, extra ...string) policy.Monitor {
	t.Helper()
	doc := "monitors:\n  - name: m\n    every: 30s\n"
	for _, e := range extra {
		doc += "    " + e + "\n"
	}
	doc += "    " + kind + "\n"
	p, err := policy.Parse("test.yaml", []byte(doc), func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	})
	if err != nil {
		t.Fatalf("policy:\n%s\n%v", doc, err)
	}
	return p.Monitors[0]
}

// checker builds the checker of m and closes it when the test ends.
func checker(t *testing.T, m policy.Monitor, o Options) Checker {
	t.Helper()
	c, err := New(m, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = Close(c) })
	return c
}

// want runs the check and compares the outcome and the start of its error.
func want(t *testing.T, c Checker, outcome upkeep.State, errPrefix string) upkeep.Result {
	t.Helper()
	r := c.Check(context.Background())
	if r.Outcome != outcome || !strings.HasPrefix(r.Error, errPrefix) || (errPrefix == "" && r.Error != "") {
		t.Errorf("got %s %q, want %s %q…", r.Outcome, r.Error, outcome, errPrefix)
	}
	if r.Latency <= 0 {
		t.Errorf("latency %v", r.Latency)
	}
	return r
}

// closedAddr returns a local address nobody listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// testCA is a certificate authority for tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "Upkeep test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// issue makes a certificate for names (host names or IPs) valid from notBefore to notAfter.
func (ca *testCA) issue(t *testing.T, names []string, notBefore, notAfter time.Time, client bool) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: names[0]},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if client {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// writePEM writes a certificate and its key to files and returns their paths.
func writePEM(t *testing.T, c tls.Certificate) (certFile, keyFile string) {
	t.Helper()
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	keyDER, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}
