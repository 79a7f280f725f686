package statuspage_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// Field sets of Atlassian Statuspage's public API (/api/v2), with the JSON type of each field:
// "string", "number", "bool", "array", "object", "time" (an RFC 3339 string); a trailing "?"
// allows null. Consumers written for Statuspage rely on exactly these names and types.
var (
	v2PageFields   = map[string]string{"id": "string", "name": "string", "url": "string", "time_zone": "string", "updated_at": "time"}
	v2StatusFields = map[string]string{"indicator": "string", "description": "string"}
	v2Component    = map[string]string{
		"id": "string", "name": "string", "status": "string", "created_at": "time", "updated_at": "time", "position": "number",
		"description": "string?", "showcase": "bool", "start_date": "string?", "group_id": "string?", "page_id": "string",
		"group": "bool", "only_show_if_degraded": "bool",
	}
	v2GroupExtra = map[string]string{"components": "array"}
	v2Incident   = map[string]string{
		"id": "string", "name": "string", "status": "string", "created_at": "time", "updated_at": "time", "monitoring_at": "time?",
		"resolved_at": "time?", "impact": "string", "shortlink": "string", "started_at": "time", "page_id": "string",
		"incident_updates": "array", "components": "array",
	}
	v2MaintenanceExtra = map[string]string{"scheduled_for": "time?", "scheduled_until": "time?"}
	v2Update           = map[string]string{
		"id": "string", "status": "string", "body": "string", "incident_id": "string", "created_at": "time", "updated_at": "time",
		"display_at": "time", "affected_components": "array?", "deliver_notifications": "bool", "custom_tweet": "string?", "tweet_id": "string?",
	}
	componentStatuses = []string{"operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance"}
	incidentStatuses  = []string{"investigating", "identified", "monitoring", "resolved", "postmortem"}
	impacts           = []string{"none", "minor", "major", "critical"}
	indicators        = []string{"none", "minor", "major", "critical"}
)

// checkObject reports fields of v that are missing, unexpected or of the wrong type.
func checkObject(t *testing.T, where string, v any, fields ...map[string]string) map[string]any {
	t.Helper()
	obj, ok := v.(map[string]any)
	if !ok {
		t.Errorf("%s: %T, want an object", where, v)
		return nil
	}
	want := map[string]string{}
	for _, f := range fields {
		for k, typ := range f {
			want[k] = typ
		}
	}
	var keys []string
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: unexpected field %q", where, k)
		}
	}
	for k, typ := range want {
		val, present := obj[k]
		if !present {
			t.Errorf("%s: missing field %q", where, k)
			continue
		}
		nullable := strings.HasSuffix(typ, "?")
		typ = strings.TrimSuffix(typ, "?")
		if val == nil {
			if !nullable {
				t.Errorf("%s.%s: null", where, k)
			}
			continue
		}
		ok := false
		switch typ {
		case "string":
			_, ok = val.(string)
		case "time":
			s, isString := val.(string)
			_, err := time.Parse(time.RFC3339, s)
			ok = isString && err == nil
		case "number":
			_, ok = val.(float64)
		case "bool":
			_, ok = val.(bool)
		case "array":
			_, ok = val.([]any)
		case "object":
			_, ok = val.(map[string]any)
		}
		if !ok {
			t.Errorf("%s.%s = %v (%T), want %s", where, k, val, val, typ)
		}
	}
	return obj
}

func oneOf(t *testing.T, where string, v any, allowed []string) {
	t.Helper()
	if s, _ := v.(string); !slices.Contains(allowed, s) {
		t.Errorf("%s = %v, want one of %v", where, v, allowed)
	}
}

func TestV2MatchesStatuspage(t *testing.T) {
	f := newFixture(t, nil)
	docs := map[string][]string{ // document: its top-level keys besides page
		"summary.json":                         {"components", "incidents", "scheduled_maintenances", "status"},
		"status.json":                          {"status"},
		"components.json":                      {"components"},
		"incidents.json":                       {"incidents"},
		"incidents/unresolved.json":            {"incidents"},
		"scheduled-maintenances.json":          {"scheduled_maintenances"},
		"scheduled-maintenances/upcoming.json": {"scheduled_maintenances"},
		"scheduled-maintenances/active.json":   {"scheduled_maintenances"},
	}
	for name, keys := range docs {
		t.Run(name, func(t *testing.T) {
			var doc map[string]any
			if err := json.Unmarshal([]byte(f.get(t, "/api/v2/"+name, 200)), &doc); err != nil {
				t.Fatal(err)
			}
			top := map[string]string{"page": "object"}
			for _, k := range keys {
				top[k] = map[bool]string{true: "object", false: "array"}[k == "status"]
			}
			checkObject(t, name, doc, top)
			checkObject(t, "page", doc["page"], v2PageFields)
			if st, ok := doc["status"]; ok {
				obj := checkObject(t, "status", st, v2StatusFields)
				oneOf(t, "status.indicator", obj["indicator"], indicators)
			}
			comps, _ := doc["components"].([]any)
			for i, c := range comps {
				where := fmt.Sprintf("components[%d]", i)
				extra := map[string]string{}
				if obj, _ := c.(map[string]any); obj["group"] == true {
					extra = v2GroupExtra
				}
				obj := checkObject(t, where, c, v2Component, extra)
				oneOf(t, where+".status", obj["status"], componentStatuses)
			}
			for _, key := range []string{"incidents", "scheduled_maintenances"} {
				list, _ := doc[key].([]any)
				for i, inc := range list {
					where := fmt.Sprintf("%s[%d]", key, i)
					extra := map[string]string{}
					if key == "scheduled_maintenances" {
						extra = v2MaintenanceExtra
					}
					obj := checkObject(t, where, inc, v2Incident, extra)
					if key == "incidents" {
						oneOf(t, where+".status", obj["status"], incidentStatuses)
						oneOf(t, where+".impact", obj["impact"], impacts)
					}
					ups, _ := obj["incident_updates"].([]any)
					if len(ups) == 0 {
						t.Errorf("%s has no incident_updates", where)
					}
					for j, u := range ups {
						checkObject(t, fmt.Sprintf("%s.incident_updates[%d]", where, j), u, v2Update)
					}
					cs, _ := obj["components"].([]any)
					for j, c := range cs {
						checkObject(t, fmt.Sprintf("%s.components[%d]", where, j), c, v2Component)
					}
				}
			}
		})
	}

	// What the documents say.
	var sum struct {
		Status     struct{ Indicator, Description string }
		Components []struct {
			ID, Name, Status string
			GroupID          *string `json:"group_id"`
			Group            bool
			Components       []string
		}
		Incidents []struct {
			ID, Name, Status, Impact, Shortlink string
			Updates                             []struct{ Body string } `json:"incident_updates"`
		}
	}
	if err := json.Unmarshal([]byte(f.get(t, "/api/v2/summary.json", 200)), &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Status.Indicator != "major" || sum.Status.Description != "Partial System Outage" {
		t.Errorf("status %+v", sum.Status)
	}
	got := []string{}
	for _, c := range sum.Components {
		g := ""
		if c.GroupID != nil {
			g = *c.GroupID
		}
		got = append(got, fmt.Sprintf("%s:%s:%s:%s", c.ID, c.Name, c.Status, g))
	}
	want := []string{"web:Website:operational:", "api:Public API:partial_outage:group-1", "db:Database:operational:group-1", "group-1:Backend:partial_outage:"}
	if !slices.Equal(got, want) {
		t.Errorf("components\n got %v\nwant %v", got, want)
	}
	if len(sum.Incidents) != 1 || sum.Incidents[0].Name != "Public API is down" || sum.Incidents[0].Shortlink != "https://status.example.com/incidents/"+sum.Incidents[0].ID {
		t.Errorf("unresolved incidents %+v", sum.Incidents)
	}
	var all struct{ Incidents []struct{ Name string } }
	if err := json.Unmarshal([]byte(f.get(t, "/api/v2/incidents.json", 200)), &all); err != nil {
		t.Fatal(err)
	}
	if len(all.Incidents) != 3 {
		t.Errorf("incidents.json has %d incidents, want 3 (internal ones are not public)", len(all.Incidents))
	}
	for path, want := range map[string]string{"scheduled-maintenances.json": "switch:in_progress:api db-move:scheduled:db",
		"scheduled-maintenances/active.json": "switch:in_progress:api", "scheduled-maintenances/upcoming.json": "db-move:scheduled:db"} {
		var doc struct {
			Maint []struct {
				ID, Status string
				Impact     string
				Components []struct{ ID string }
			} `json:"scheduled_maintenances"`
		}
		if err := json.Unmarshal([]byte(f.get(t, "/api/v2/"+path, 200)), &doc); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range doc.Maint {
			var cs []string
			for _, c := range m.Components {
				cs = append(cs, c.ID)
			}
			if m.Impact != "maintenance" {
				t.Errorf("%s: impact %q", path, m.Impact)
			}
			got = append(got, strings.TrimPrefix(m.ID, "maintenance-")+":"+m.Status+":"+strings.Join(cs, ","))
		}
		if g := strings.Join(got, " "); g != want {
			t.Errorf("%s: %s, want %s", path, g, want)
		}
	}
	f.get(t, "/api/v2/nope.json", 404)
}
