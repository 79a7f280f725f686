package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/upkeep-dev/upkeep/policy"
)

// apiClient talks to a running "upkeep serve" for the commands that show or change live state.
type apiClient struct {
	base  string
	token string
	http  *http.Client
}

// apiFlags are the flags of every command that talks to the API.
type apiFlags struct {
	url   string
	token string
	json  bool // print the API's JSON instead of a table or summary
}

func (f *apiFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.url, "url", "", "URL of the running Upkeep (default $UPKEEP_URL, or the listen address of the policy)")
	cmd.Flags().StringVar(&f.token, "token", "", "API token (default $UPKEEP_TOKEN; create one with upkeep token create)")
	cmd.Flags().BoolVar(&f.json, "json", false, "print the API's JSON")
}

// call makes one API request with do and prints its answer: the JSON as it came with --json,
// else through show.
func (f *apiFlags) call(ctx context.Context, e *env, g *globalFlags, do func(c *apiClient, raw *json.RawMessage) error, show func(raw json.RawMessage) error) error {
	c, err := f.client(e, g)
	if err != nil {
		return err
	}
	var raw json.RawMessage
	if err := do(c, &raw); err != nil {
		return err
	}
	if f.json {
		_, err := e.stdout.Write(append(raw, '\n'))
		return err
	}
	return show(raw)
}

// client resolves the server URL and the token: flags, then environment, then the policy.
func (f *apiFlags) client(e *env, g *globalFlags) (*apiClient, error) {
	base := f.url
	if base == "" {
		base = e.getenv("UPKEEP_URL")
	}
	if base == "" {
		src, err := resolvePolicySource(e, g)
		if err != nil {
			return nil, err
		}
		p, err := src.load(e)
		if err != nil {
			return nil, policyError(src, err)
		}
		listen := p.Server.Listen
		if l := e.getenv("UPKEEP_LISTEN"); l != "" {
			listen = l
		}
		base = policy.DerivePublicURL(listen)
	}
	token := f.token
	if token == "" {
		token = e.getenv("UPKEEP_TOKEN")
	}
	if token == "" {
		return nil, errors.New("no API token: pass --token or set UPKEEP_TOKEN (create one with: upkeep token create NAME)")
	}
	return &apiClient{base: strings.TrimRight(base, "/"), token: token, http: &http.Client{Timeout: 30 * time.Second}}, nil
}

// get fetches path and decodes the JSON answer into out. API errors come back as Go errors
// carrying the server's own message.
func (c *apiClient) get(ctx context.Context, path string, out any) error {
	return c.do(ctx, http.MethodGet, path, nil, out)
}

// post sends in as JSON to path and decodes the JSON answer into out.
func (c *apiClient) post(ctx context.Context, path string, in, out any) error {
	return c.do(ctx, http.MethodPost, path, in, out)
}

// put sends in as JSON to path and decodes the JSON answer into out.
func (c *apiClient) put(ctx context.Context, path string, in, out any) error {
	return c.do(ctx, http.MethodPut, path, in, out)
}

func (c *apiClient) do(ctx context.Context, method, path string, in, out any) error {
	var reqBody io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		reqBody = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, reqBody)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("is upkeep serve running at %s? %w", c.base, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("reading the answer of %s: %w", c.base+path, err)
	}
	if resp.StatusCode/100 != 2 {
		var apiErr struct{ Error, Detail string }
		if json.Unmarshal(body, &apiErr) == nil && apiErr.Error != "" {
			return fmt.Errorf("%s: %s: %s", path, apiErr.Error, apiErr.Detail)
		}
		return fmt.Errorf("%s: HTTP %d", path, resp.StatusCode)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("decoding the answer of %s: %w", path, err)
	}
	return nil
}
