package policy

import (
	"strings"
	"testing"
)

func TestSubscriptions(t *testing.T) {
	doc := `
services: [{name: api}]
channels:
  mail: {email: {to: [ops@example.com], smtp: {host: smtp.example.com, from: status@example.com}}}
  chat: {ntfy: {topic: ops}}
status_page:
  title: Status
  subscriptions: {email: {channel: mail}, webhooks: true}
`
	p, err := Parse("s.yaml", []byte(doc), nil)
	if err != nil {
		t.Fatal(err)
	}
	sub := p.StatusPage.Subscriptions
	if sub.Email.Channel != "mail" || sub.Email.MaxPending != 1000 || !sub.Webhooks {
		t.Errorf("subscriptions: %+v %+v", sub, sub.Email)
	}

	for bad, want := range map[string]string{
		strings.Replace(doc, "{channel: mail}", "{channel: chat}", 1): `s.yaml:8:36: status_page.subscriptions.email.channel: channel "chat" is not an e-mail channel (name a channel with email: {smtp: ...})`,
		strings.Replace(doc, "{channel: mail}", "{channel: nope}", 1): `status_page.subscriptions.email.channel: unknown channel "nope"`,
		strings.Replace(doc, "{channel: mail}", "{}", 1):              `status_page.subscriptions.email: missing required key "channel"`,
	} {
		_, err := Parse("s.yaml", []byte(bad), nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v\nwant %s", err, want)
		}
	}
}
