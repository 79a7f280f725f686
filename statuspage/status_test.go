package statuspage

import (
	"testing"

	"github.com/upkeep-dev/upkeep"
)

func TestStatusOf(t *testing.T) {
	U, G, D, M, X, P := upkeep.StateUp, upkeep.StateDegraded, upkeep.StateDown, upkeep.StateMaintenance, upkeep.StateUnknown, upkeep.StatePaused
	for _, tc := range []struct {
		states []upkeep.State
		want   ComponentStatus
		known  bool
	}{
		{nil, Operational, false},
		{[]upkeep.State{X, P}, Operational, false},
		{[]upkeep.State{U, X}, Operational, true},
		{[]upkeep.State{U, G}, DegradedPerformance, true},
		{[]upkeep.State{U, D}, PartialOutage, true},
		{[]upkeep.State{D, D, X}, MajorOutage, true},
		{[]upkeep.State{U, M}, UnderMaintenance, true},
		{[]upkeep.State{M, G}, DegradedPerformance, true},
		{[]upkeep.State{M, D}, PartialOutage, true},
	} {
		if got, known := statusOf(tc.states); got != tc.want || known != tc.known {
			t.Errorf("statusOf(%v) = %s, %v; want %s, %v", tc.states, got, known, tc.want, tc.known)
		}
	}
	for _, tc := range []struct {
		status     ComponentStatus
		impact     upkeep.Impact
		indicator  string
		descriptor string
	}{
		{Operational, "", "none", "All Systems Operational"},
		{Operational, upkeep.ImpactMinor, "minor", "Minor Service Outage"},
		{UnderMaintenance, "", "none", "Service Under Maintenance"},
		{DegradedPerformance, "", "minor", "Degraded Performance"},
		{PartialOutage, upkeep.ImpactCritical, "critical", "Partial System Outage"},
		{MajorOutage, "", "critical", "Major System Outage"},
	} {
		var active []Incident
		if tc.impact != "" {
			active = []Incident{{Impact: tc.impact}}
		}
		o := overallOf([]*Service{{Status: Operational}, {Status: tc.status}}, active)
		if o.Indicator != tc.indicator || o.Description != tc.descriptor || o.Status != tc.status {
			t.Errorf("overall of %s with impact %q: %+v", tc.status, tc.impact, o)
		}
	}
}
