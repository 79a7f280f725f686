package statuspage

import (
	"context"
	"encoding/xml"
	"fmt"
	"time"
)

// feedItem is one entry of the history feeds: an incident or a maintenance window.
type feedItem struct {
	id, title, link, summary string
	published, updated       time.Time
}

// feedLimit is the number of entries in a feed.
const feedLimit = 50

func feedItems(s *Snapshot) []feedItem {
	var out []feedItem
	for _, list := range [][]Incident{s.Active, s.History} {
		for _, inc := range list {
			link := fmt.Sprintf("%s/incidents/%d", s.URL, inc.ID)
			summary := statusWord(inc.Status)
			if len(inc.Updates) > 0 {
				summary += ": " + inc.Updates[0].Message
			}
			out = append(out, feedItem{id: link, title: inc.Title, link: link, summary: summary, published: inc.StartedAt, updated: inc.UpdatedAt})
		}
	}
	for _, w := range s.Maintenance {
		summary := fmt.Sprintf("Maintenance from %s to %s", w.Start.UTC().Format(time.RFC1123), w.End.UTC().Format(time.RFC1123))
		if w.Description != "" {
			summary += ": " + w.Description
		}
		out = append(out, feedItem{id: s.URL + "/#maintenance-" + w.ID, title: "Maintenance: " + w.Title, link: s.URL + "/",
			summary: summary, published: w.Start, updated: w.Start})
	}
	if len(out) > feedLimit {
		out = out[:feedLimit]
	}
	return out
}

type rssDoc struct {
	XMLName xml.Name   `xml:"rss"`
	Version string     `xml:"version,attr"`
	Atom    string     `xml:"xmlns:atom,attr"`
	Channel rssChannel `xml:"channel"`
}

type rssChannel struct {
	Title         string    `xml:"title"`
	Link          string    `xml:"link"`
	Description   string    `xml:"description"`
	AtomLink      atomLink  `xml:"atom:link"`
	LastBuildDate string    `xml:"lastBuildDate"`
	Items         []rssItem `xml:"item"`
}

type rssItem struct {
	Title       string  `xml:"title"`
	Link        string  `xml:"link"`
	Description string  `xml:"description"`
	PubDate     string  `xml:"pubDate"`
	GUID        rssGUID `xml:"guid"`
}

type rssGUID struct {
	IsPermaLink bool   `xml:"isPermaLink,attr"`
	Value       string `xml:",chardata"`
}

type atomLink struct {
	Href string `xml:"href,attr"`
	Rel  string `xml:"rel,attr,omitempty"`
	Type string `xml:"type,attr,omitempty"`
}

func (p *Page) renderRSS(_ context.Context, s *Snapshot) (*response, bool, error) {
	doc := rssDoc{Version: "2.0", Atom: "http://www.w3.org/2005/Atom", Channel: rssChannel{
		Title: s.Title + " incident history", Link: s.URL + "/", Description: "Incidents and maintenance of " + s.Title,
		AtomLink:      atomLink{Href: s.URL + "/history.rss", Rel: "self", Type: "application/rss+xml"},
		LastBuildDate: s.UpdatedAt.UTC().Format(time.RFC1123Z),
	}}
	for _, it := range feedItems(s) {
		// The guid changes with every update, so feed readers show updates as new items.
		doc.Channel.Items = append(doc.Channel.Items, rssItem{Title: it.title, Link: it.link, Description: it.summary,
			PubDate: it.updated.UTC().Format(time.RFC1123Z), GUID: rssGUID{Value: fmt.Sprintf("%s#%d", it.id, it.updated.UnixMilli())}})
	}
	return marshalXML(doc, "application/rss+xml; charset=utf-8")
}

type atomFeed struct {
	XMLName xml.Name    `xml:"feed"`
	NS      string      `xml:"xmlns,attr"`
	ID      string      `xml:"id"`
	Title   string      `xml:"title"`
	Updated string      `xml:"updated"`
	Links   []atomLink  `xml:"link"`
	Author  atomAuthor  `xml:"author"`
	Entries []atomEntry `xml:"entry"`
}

type atomAuthor struct {
	Name string `xml:"name"`
}

type atomEntry struct {
	ID        string   `xml:"id"`
	Title     string   `xml:"title"`
	Updated   string   `xml:"updated"`
	Published string   `xml:"published"`
	Link      atomLink `xml:"link"`
	Summary   string   `xml:"summary"`
}

func (p *Page) renderAtom(_ context.Context, s *Snapshot) (*response, bool, error) {
	doc := atomFeed{NS: "http://www.w3.org/2005/Atom", ID: s.URL + "/history.atom", Title: s.Title + " incident history",
		Updated: s.UpdatedAt.UTC().Format(time.RFC3339),
		Links:   []atomLink{{Href: s.URL + "/history.atom", Rel: "self", Type: "application/atom+xml"}, {Href: s.URL + "/", Rel: "alternate", Type: "text/html"}},
		Author:  atomAuthor{Name: s.Title}}
	for _, it := range feedItems(s) {
		doc.Entries = append(doc.Entries, atomEntry{ID: it.id, Title: it.title, Updated: it.updated.UTC().Format(time.RFC3339),
			Published: it.published.UTC().Format(time.RFC3339), Link: atomLink{Href: it.link, Rel: "alternate"}, Summary: it.summary})
	}
	return marshalXML(doc, "application/atom+xml; charset=utf-8")
}

func marshalXML(v any, ctype string) (*response, bool, error) {
	body, err := xml.MarshalIndent(v, "", " ")
	if err != nil {
		return nil, false, err
	}
	return &response{ctype: ctype, body: append([]byte(xml.Header), body...)}, true, nil
}
