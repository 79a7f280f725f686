package subscription

import (
	"html/template"
	"net/http"
)

// The pages are plain HTML forms that post to their own URL (so they work under any host name
// the server is reached by, within the Content-Security-Policy's form-action 'self'): no script, one column, labels on every field, so they work
// with keyboards, screen readers and text browsers, and the status page can link to them.
var pages = template.Must(template.New("layout").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{.Heading}} · {{.Site}}</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a;background:#fff}
@media (prefers-color-scheme:dark){body{color:#eee;background:#161616}a{color:#8ab4f8}}
label,legend{font-weight:600}input[type=email]{width:100%;padding:.5rem;font:inherit;box-sizing:border-box}
fieldset{border:1px solid #888;margin:1rem 0}button{font:inherit;padding:.5rem 1rem;margin-top:1rem}
:focus-visible{outline:3px solid #1a73e8;outline-offset:2px}.error{color:#b00020}
</style>
</head>
<body>
<main>
<h1>{{.Heading}}</h1>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
{{if .Message}}<p role="status">{{.Message}}</p>{{end}}
{{if eq .Form "subscribe"}}
<form method="post">
<p><label for="email">E-mail address</label><br>
<input type="email" id="email" name="email" required autocomplete="email" value="{{.Email}}"></p>
{{if .Services}}<fieldset><legend>Services (none ticked: all)</legend>
{{range .Services}}<div><input type="checkbox" id="svc-{{.Name}}" name="services" value="{{.Name}}"><label for="svc-{{.Name}}"> {{.Title}}</label></div>
{{end}}</fieldset>{{end}}
<p>We send you a mail with a link to confirm. Every mail has a link to unsubscribe.</p>
<button type="submit">Subscribe</button>
</form>
{{else if .Form}}
<form method="post"><button type="submit">{{.Form}}</button></form>
{{end}}
<p><a href="{{.Home}}">Back to {{.Site}}</a></p>
</main>
</body>
</html>
`))

type serviceOption struct{ Name, Title string }

type page struct {
	Site, Heading, Message, Error string
	Form, Email, Home             string
	Services                      []serviceOption
}

func (s *Service) render(w http.ResponseWriter, code int, pg page) {
	pg.Site = s.title()
	pg.Home = s.publicURL() + "/"
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer") // the links' tokens must not leak to other sites
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
	w.WriteHeader(code)
	if err := pages.Execute(w, pg); err != nil {
		s.log.Debug("subscribers: writing a page", "err", err)
	}
}
