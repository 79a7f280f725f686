package statuspage

import (
	"context"
	"fmt"
	"html"
	"unicode/utf8"
)

// badgeColors are the badge colours (white text on them meets WCAG AA).
var badgeColors = map[ComponentStatus]string{
	Operational: "#1a7f37", DegradedPerformance: "#9a6700", PartialOutage: "#bc4c00", MajorOutage: "#cf222e", UnderMaintenance: "#0969da",
}

// badge draws a two-part badge in the usual style (label on grey, message on colour). Widths
// are estimated from the number of characters, as badge services do without font metrics.
func badge(label, message, color string) []byte {
	lw, mw := 10+7*utf8.RuneCountInString(label), 10+7*utf8.RuneCountInString(message)
	l, m := html.EscapeString(label), html.EscapeString(message)
	return fmt.Appendf(nil, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="20" role="img" aria-label="%s: %s"><title>%s: %s</title>`+
		`<rect width="%d" height="20" rx="3" fill="#555"/><rect x="%d" width="%d" height="20" rx="3" fill="%s"/><rect x="%d" width="4" height="20" fill="%s"/>`+
		`<g fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11" text-anchor="middle">`+
		`<text x="%d" y="14">%s</text><text x="%d" y="14">%s</text></g></svg>`,
		lw+mw, l, m, l, m, lw+mw, lw, mw, color, lw, color, lw/2, l, lw+mw/2, m)
}

func (p *Page) renderStatusBadge(service string) render {
	return func(_ context.Context, s *Snapshot) (*response, bool, error) {
		svc := s.service(service)
		if svc == nil {
			return nil, false, nil
		}
		msg, color := statusWord(svc.Status), badgeColors[svc.Status]
		if !svc.Known {
			msg, color = "no data", "#6e7781"
		}
		return &response{ctype: "image/svg+xml", body: badge(svc.Title, msg, color)}, true, nil
	}
}

func (p *Page) renderUptimeBadge(service, window string) render {
	return func(_ context.Context, s *Snapshot) (*response, bool, error) {
		svc := s.service(service)
		if svc == nil {
			return nil, false, nil
		}
		for _, w := range svc.Windows {
			if w.Label != window {
				continue
			}
			msg, color := "no data", "#6e7781"
			if w.Known {
				msg = pct(w.Fraction)
				switch {
				case w.Fraction >= 0.999:
					color = badgeColors[Operational]
				case w.Fraction >= 0.99:
					color = badgeColors[DegradedPerformance]
				default:
					color = badgeColors[MajorOutage]
				}
			}
			return &response{ctype: "image/svg+xml", body: badge("uptime "+window, msg, color)}, true, nil
		}
		return nil, false, nil
	}
}
