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
			// Backup and drill monitors say whether data is safe, not whether the service is
			// available: they have their own sections in the continuity report.
			if m.Service == s.Name && m.Kind() != policy.KindBackup && m.Kind() != policy.KindDrill {
				rs.Monitors = append(rs.Monitors, m.Name)
			}
		}
		out = append(out, rs)
	}
	return out, nil
}
