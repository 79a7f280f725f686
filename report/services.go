package report

import (
	"fmt"
	"strings"

	"github.com/upkeep-dev/upkeep/policy"
)

// Services returns the services of p named (all of them, in the policy's order, when none is)
// with the monitors that make up their state: the service's monitors except those of its
// backups (a failed backup is not downtime). An unknown name is an error listing the known ones.
func Services(p *policy.Policy, names []string) ([]Service, error) {
	if len(names) == 0 {
		for _, s := range p.Services {
			names = append(names, s.Name)
		}
	}
	var out []Service
	for _, name := range names {
		s := p.Service(name)
		if s == nil {
			var known []string
			for _, s := range p.Services {
				known = append(known, s.Name)
			}
			return nil, fmt.Errorf("%q: no such service in the policy (services: %s)", name, strings.Join(known, ", "))
		}
		rs := Service{Name: s.Name, Title: s.Title, Objective: float64(s.Objectives.Availability)}
		for _, m := range p.Monitors {
			if m.Service == s.Name && p.Backup(m.Name) == nil {
				rs.Monitors = append(rs.Monitors, m.Name)
			}
		}
		out = append(out, rs)
	}
	return out, nil
}
