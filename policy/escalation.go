package policy

import (
	"fmt"
	"time"
)

// Escalation says whom to notify, and after how long, while an incident lasts. Steps run in the
// order of their delays, counted from the moment the incident was opened; acknowledging the
// incident stops the steps not yet run and the reminders.
type Escalation struct {
	Name        string           `yaml:"name" policy:"name" jsonschema:"required,description=Name of the escalation policy. Services and monitors pick one with their escalation key; the one named default is used when they do not."`
	Steps       []EscalationStep `yaml:"steps" jsonschema:"description=Steps in the order of their delays; each step notifies its channels once the incident is that old\\, unless it has been acknowledged."`
	RepeatEvery Duration         `yaml:"repeat_every" jsonschema:"description=After the last step\\, remind every channel notified so far this often until the incident is acknowledged or resolved\\, e.g. \"30m\". Default: no reminders."`
}

// EscalationStep is one step of an escalation.
type EscalationStep struct {
	After  Duration `yaml:"after" jsonschema:"description=How long after the incident opens this step runs\\, e.g. \"3m\". Default: at once."`
	Notify []string `yaml:"notify" policy:"ref=channel" jsonschema:"description=Names of the channels to notify."`
}

// DefaultEscalation is the name of the escalation used when a service or monitor names none.
const DefaultEscalation = "default"

// minRepeat is the shortest reminder interval: reminders faster than this are noise, not
// escalation, and would trip the channels' rate limits.
const minRepeat = time.Minute

// Escalation returns the escalation with the given name, or nil.
func (p *Policy) Escalation(name string) *Escalation {
	for i := range p.Escalations {
		if p.Escalations[i].Name == name {
			return &p.Escalations[i]
		}
	}
	return nil
}

// EscalationFor returns the escalation that an incident opened by monitor (of service, which
// may be empty) follows: the monitor's own, else its service's, else the one named default.
// It returns nil when there is none: the incident is recorded but nobody is paged.
func (p *Policy) EscalationFor(service, monitor string) *Escalation {
	if m := p.Monitor(monitor); m != nil && m.Escalation != "" {
		return p.Escalation(m.Escalation)
	}
	if s := p.Service(service); s != nil && s.Escalation != "" {
		return p.Escalation(s.Escalation)
	}
	return p.Escalation(DefaultEscalation)
}

// Monitor returns the monitor with the given name, or nil.
func (p *Policy) Monitor(name string) *Monitor {
	for i := range p.Monitors {
		if p.Monitors[i].Name == name {
			return &p.Monitors[i]
		}
	}
	return nil
}

// Service returns the service with the given name, or nil.
func (p *Policy) Service(name string) *Service {
	if name == "" {
		return nil
	}
	for i := range p.Services {
		if p.Services[i].Name == name {
			return &p.Services[i]
		}
	}
	return nil
}

// checkEscalations reports steps out of order, empty steps and reminders that come too often.
func (d *decoder) checkEscalations(es []Escalation) {
	for i, e := range es {
		path := fmt.Sprintf("escalations[%d]", i)
		for j, s := range e.Steps {
			sp := fmt.Sprintf("%s.steps[%d]", path, j)
			if len(s.Notify) == 0 && !d.hasProblem(sp+".notify") {
				d.add(d.posAt(sp), sp, "the step notifies no channel", "add notify: [channel, ...] or remove the step")
			}
			if j > 0 && s.After.Duration < e.Steps[j-1].After.Duration && !d.hasProblem(sp+".after") {
				d.add(d.posAt(sp+".after"), sp+".after",
					fmt.Sprintf("step after %s comes before the previous step's %s", s.After, e.Steps[j-1].After),
					"list the steps in the order they run")
			}
		}
		rp := path + ".repeat_every"
		if _, set := d.nodes[rp]; set && !d.hasProblem(rp) && e.RepeatEvery.Duration < minRepeat {
			d.add(d.posAt(rp), rp, fmt.Sprintf("reminders every %s are too frequent", d.show(rp, e.RepeatEvery.String())), `at least "1m"`)
		}
		if e.RepeatEvery.Duration > 0 && len(e.Steps) == 0 && !d.hasProblem(rp) {
			d.add(d.posAt(rp), rp, "reminders need a step that notifies someone first", "add steps")
		}
	}
}
