package policy

import "fmt"

// Subscriptions lets people subscribe to the status page's incident and maintenance notices:
// by e-mail (double opt-in) or, through the token API, with a webhook.
type Subscriptions struct {
	Email    *SubscriptionEmail `yaml:"email" jsonschema:"description=E-mail subscriptions (POST /subscribe\\, confirmed by a link in a mail). Absent: no e-mail subscriptions."`
	Webhooks bool               `yaml:"webhooks" jsonschema:"description=Allow webhook subscribers\\, created through the token API (POST /api/v1/subscribers or upkeep subscribers add). Default: false."`
}

// SubscriptionEmail says how subscribers' mail is sent.
type SubscriptionEmail struct {
	Channel    string `yaml:"channel" policy:"ref=channel" jsonschema:"required,description=Name of an e-mail channel whose SMTP server and sender (smtp.from) send the subscribers' mail. Its to: list is not used."`
	MaxPending int    `yaml:"max_pending" jsonschema:"minimum=1,default=1000,description=Most subscriptions that may await confirmation at once; more are refused until some are confirmed or expire (after 48 hours)."`
}

// checkSubscriptions reports a subscription sender that is not an e-mail channel.
func (d *decoder) checkSubscriptions(p *Policy) {
	if p.StatusPage == nil || p.StatusPage.Subscriptions == nil || p.StatusPage.Subscriptions.Email == nil {
		return
	}
	path := "status_page.subscriptions.email.channel"
	name := p.StatusPage.Subscriptions.Email.Channel
	c, ok := p.Channels[name]
	if !ok || d.hasProblem(path) {
		return // an unknown channel is reported by the reference check
	}
	if c.Email == nil {
		d.add(d.posAt(path), path, fmt.Sprintf("channel %s is not an e-mail channel", d.show(path, name)), "name a channel with email: {smtp: ...}")
	}
}
