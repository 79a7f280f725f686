package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"

	"github.com/upkeep-dev/upkeep/policy"
)

// defaultPolicyFile is used when neither --policy nor $UPKEEP_POLICY names one.
const defaultPolicyFile = "upkeep.yaml"

// policySource says where the policy comes from: a file, or the built-in quick-start policy.
type policySource struct {
	path    string // empty for the built-in policy
	builtin bool
}

func (s policySource) String() string {
	if s.builtin {
		return "built-in quick-start policy"
	}
	return s.path
}

// resolvePolicySource applies the documented order: --policy, $UPKEEP_POLICY, ./upkeep.yaml,
// the built-in quick-start policy.
func resolvePolicySource(e *env, g *globalFlags) (policySource, error) {
	if g.policy != "" {
		return policySource{path: g.policy}, nil
	}
	if p := e.getenv("UPKEEP_POLICY"); p != "" {
		return policySource{path: p}, nil
	}
	_, err := os.Stat(defaultPolicyFile)
	switch {
	case err == nil:
		return policySource{path: defaultPolicyFile}, nil
	case errors.Is(err, fs.ErrNotExist):
		return policySource{builtin: true}, nil
	default:
		return policySource{}, fmt.Errorf("looking for %s: %w", defaultPolicyFile, err)
	}
}

func (s policySource) load(e *env) (*policy.Policy, error) {
	if s.builtin {
		return policy.QuickStart(e.lookupEnv)
	}
	return policy.Load(s.path, e.lookupEnv)
}

// overrides are the settings that flags and environment variables take over from the policy.
type overrides struct {
	listen string
	data   string
}

func resolveOverrides(e *env, g *globalFlags, listenFlag string) overrides {
	o := overrides{listen: listenFlag, data: g.data}
	if o.listen == "" {
		o.listen = e.getenv("UPKEEP_LISTEN")
	}
	if o.data == "" {
		o.data = e.getenv("UPKEEP_DATA")
	}
	return o
}

// apply writes the overrides into a freshly loaded policy. A public URL that was only derived
// from the listen address follows the new address.
func (o overrides) apply(p *policy.Policy) error {
	if o.listen != "" {
		if _, _, err := net.SplitHostPort(o.listen); err != nil {
			return fmt.Errorf("listen address %q: %w (expected host:port, e.g. 127.0.0.1:8080)", o.listen, err)
		}
		if p.Server.PublicURL == policy.DerivePublicURL(p.Server.Listen) {
			p.Server.PublicURL = policy.DerivePublicURL(o.listen)
		}
		p.Server.Listen = o.listen
	}
	if o.data != "" {
		p.Server.DataDir = o.data
	}
	return nil
}

// loadForData loads the policy only to learn the data directory, for commands that work on the
// store offline (token, ...). The policy must still be valid: a command must not guess.
func loadForData(e *env, g *globalFlags) (string, error) {
	o := resolveOverrides(e, g, "")
	if o.data != "" {
		return o.data, nil
	}
	src, err := resolvePolicySource(e, g)
	if err != nil {
		return "", err
	}
	p, err := src.load(e)
	if err != nil {
		return "", policyError(src, err)
	}
	return p.Server.DataDir, nil
}

// policyError turns an invalid policy into a readable error listing every problem.
func policyError(src policySource, err error) error {
	var problems policy.Problems
	if errors.As(err, &problems) {
		return fmt.Errorf("policy %s is invalid (%d problem(s)):\n%w", src, len(problems), problems)
	}
	return err
}
