package incident_test

import (
	"strings"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep"
)

// TestMaintenanceOpensNoIncident: a monitor in a window opens nothing; one still down when the
// window ends opens an incident at that moment and pages at once.
func TestMaintenanceOpensNoIncident(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	h := newHarness(t, escalationPolicy, t0, defaultEscalation)
	h.transition("api-a", upkeep.StateUnknown, upkeep.StateUp, t0)
	h.transition("api-a", upkeep.StateUp, upkeep.StateMaintenance, t0.Add(10*time.Minute))
	h.clock.Set(t0.Add(10 * time.Minute))
	want(t, "window starts", h.step())
	if incs := h.incidents(); len(incs) != 0 {
		t.Fatalf("maintenance opened %d incidents", len(incs))
	}
	end := t0.Add(40 * time.Minute)
	h.clock.Set(end)
	h.transition("api-a", upkeep.StateMaintenance, upkeep.StateDown, end)
	want(t, "window ends with the monitor down", h.step(), "mail down")
	incs := h.incidents()
	if len(incs) != 1 || !incs[0].StartedAt.Equal(end) || !incs[0].OpenedAt.Equal(end) {
		t.Fatalf("incidents %+v, want one opened at the window's end", incs)
	}
}

// TestMaintenanceKeepsOpenIncident: an incident open when its monitor enters a window stays
// open; nobody is paged again when the window ends with the monitor still down; its recovery
// resolves the incident as usual.
func TestMaintenanceKeepsOpenIncident(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	h := newHarness(t, escalationPolicy, t0, defaultEscalation)
	h.transition("api-a", upkeep.StateUp, upkeep.StateDown, t0)
	want(t, "outage", h.step(), "mail down")
	h.clock.Set(t0.Add(time.Minute))
	h.transition("api-a", upkeep.StateDown, upkeep.StateMaintenance, t0.Add(time.Minute))
	want(t, "window starts", h.step())
	inc, err := h.db.Incident(t.Context(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if !inc.Open() || !inc.Failing() {
		t.Fatalf("incident open %v failing %v, want it to stay open", inc.Open(), inc.Failing())
	}
	found := false
	for _, u := range inc.Updates {
		found = found || strings.Contains(u.Message, "api-a entered maintenance")
	}
	if !found {
		t.Errorf("timeline does not record the window: %+v", inc.Updates)
	}
	h.clock.Set(t0.Add(2 * time.Minute))
	h.transition("api-a", upkeep.StateMaintenance, upkeep.StateDown, t0.Add(2*time.Minute))
	want(t, "window ends, still down: no new page", h.step())
	if n := len(h.incidents()); n != 1 {
		t.Errorf("%d incidents, want the one", n)
	}
	h.clock.Set(t0.Add(4 * time.Minute))
	h.transition("api-a", upkeep.StateDown, upkeep.StateUp, t0.Add(4*time.Minute))
	got := h.step()
	want(t, "recovery", got, "mail recovered")
	if inc, _ := h.db.Incident(t.Context(), 1); inc.Open() {
		t.Error("incident still open after recovery")
	}
}
