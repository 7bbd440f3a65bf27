package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client speaks SignalCraft API v1: bearer key, problem+json errors, 429/503 retried no sooner than Retry-After.
type Client struct {
	BaseURL  string
	APIKey   string
	Identity string // manager identity stamped on every object this provider writes
	HTTP     *http.Client
	// MaxRetries bounds the retries of one request on 429/503 and network errors.
	MaxRetries int
	// MaxRetryWait caps a single Retry-After wait.
	MaxRetryWait time.Duration
	UserAgent    string
}

// Envelope is a configurable resource as the API returns it.
type Envelope struct {
	Name        string            `json:"name"`
	ID          string            `json:"id"`
	DisplayName *string           `json:"display_name"`
	Description *string           `json:"description"`
	Labels      map[string]string `json:"labels"`
	Manager     *Manager          `json:"manager"`
	Spec        map[string]any    `json:"spec"`
	Status      map[string]any    `json:"status"`
	Version     int64             `json:"version"`
	CreatedAt   string            `json:"created_at"`
	UpdatedAt   string            `json:"updated_at"`
}

// Manager is the API's ownership block.
type Manager struct {
	Kind        string `json:"kind"`
	Identity    string `json:"identity"`
	UID         string `json:"uid,omitempty"`
	AllowsEdits bool   `json:"allows_edits"`
}

// Problem is an RFC 9457 problem+json answer.
type Problem struct {
	Status         int              `json:"status"`
	Code           string           `json:"code"`
	Title          string           `json:"title"`
	Detail         string           `json:"detail"`
	Errors         []ProblemPointer `json:"errors"`
	CurrentManager *Manager         `json:"current_manager"`
	ReferencedBy   []Referrer       `json:"referenced_by"`
	Method         string           `json:"-"`
	Path           string           `json:"-"`
}

type ProblemPointer struct {
	Pointer string `json:"pointer"`
	Detail  string `json:"detail"`
}

type Referrer struct {
	Collection string `json:"collection"`
	Name       string `json:"name"`
}

func (p *Problem) Error() string {
	text := fmt.Sprintf("%s %s: %d %s", p.Method, p.Path, p.Status, p.Code)
	if p.Detail != "" {
		text += ": " + p.Detail
	}
	for _, e := range p.Errors {
		text += fmt.Sprintf("\n  %s: %s", e.Pointer, e.Detail)
	}
	return text
}

// IsStatus reports whether err is a problem with this HTTP status.
func IsStatus(err error, status int) bool {
	p, ok := err.(*Problem)
	return ok && p.Status == status
}

// Do sends one request (retrying 429, 503 and transport errors) and decodes a JSON answer into out (if not nil).
func (c *Client) Do(ctx context.Context, method, path string, query url.Values, headers map[string]string, body, out any) (http.Header, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return nil, err
		}
	}
	target := strings.TrimRight(c.BaseURL, "/") + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(payload))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+c.APIKey)
		req.Header.Set("Accept", "application/json")
		if c.UserAgent != "" {
			req.Header.Set("User-Agent", c.UserAgent)
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := c.HTTP.Do(req)
		if err != nil {
			if attempt < c.MaxRetries && ctx.Err() == nil && idempotentMethod(method) {
				if werr := sleep(ctx, backoff(attempt)); werr != nil {
					return nil, werr
				}
				continue
			}
			return nil, fmt.Errorf("%s %s: %w", method, path, err)
		}
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		if (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) && attempt < c.MaxRetries {
			wait := retryAfter(resp.Header.Get("Retry-After"), backoff(attempt))
			if c.MaxRetryWait > 0 && wait > c.MaxRetryWait {
				wait = c.MaxRetryWait
			}
			if werr := sleep(ctx, wait); werr != nil {
				return nil, werr
			}
			continue
		}
		if resp.StatusCode >= 400 {
			problem := &Problem{Status: resp.StatusCode}
			_ = json.Unmarshal(data, problem)
			problem.Status, problem.Method, problem.Path = resp.StatusCode, method, path
			if problem.Code == "" {
				problem.Code = http.StatusText(resp.StatusCode)
				problem.Detail = strings.TrimSpace(string(data))
			}
			return resp.Header, problem
		}
		if out != nil && len(data) > 0 && resp.StatusCode != http.StatusNoContent {
			if err := json.Unmarshal(data, out); err != nil {
				return resp.Header, fmt.Errorf("%s %s: decoding the answer: %w", method, path, err)
			}
		}
		return resp.Header, nil
	}
}

// PUT on a configurable resource is idempotent, so every method this provider sends may be retried safely except
// the POSTs that create service accounts and keys (those are retried on 429/503 only, which the server never executed).
func idempotentMethod(method string) bool { return method != http.MethodPost }

func backoff(attempt int) time.Duration {
	wait := time.Duration(250*(1<<attempt)) * time.Millisecond
	if wait > 10*time.Second {
		wait = 10 * time.Second
	}
	return wait
}

// retryAfter reads Retry-After (seconds or an HTTP date); never shorter than the server asked.
func retryAfter(header string, fallback time.Duration) time.Duration {
	header = strings.TrimSpace(header)
	if header == "" {
		return fallback
	}
	if seconds, err := strconv.ParseFloat(header, 64); err == nil && seconds >= 0 {
		return time.Duration(seconds * float64(time.Second))
	}
	if when, err := http.ParseTime(header); err == nil {
		if wait := time.Until(when); wait > 0 {
			return wait
		}
		return 0
	}
	return fallback
}

func sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

func etag(version int64) string { return fmt.Sprintf("%q", strconv.FormatInt(version, 10)) }

func (c *Client) manager() map[string]any {
	return map[string]any{"kind": "terraform", "identity": c.Identity}
}

// Get reads one configurable resource; a 404 is returned as a *Problem with Status 404.
func (c *Client) Get(ctx context.Context, path string) (*Envelope, error) {
	var out Envelope
	if _, err := c.Do(ctx, http.MethodGet, path, nil, nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Put creates (createOnly: If-None-Match: *) or replaces (version > 0: If-Match) a configurable resource, stamped
// with this provider's manager identity.
func (c *Client) Put(ctx context.Context, path string, body map[string]any, createOnly bool, version int64) (*Envelope, error) {
	headers := map[string]string{}
	if createOnly {
		headers["If-None-Match"] = "*"
	} else if version > 0 {
		headers["If-Match"] = etag(version)
	}
	body["manager"] = c.manager()
	var out Envelope
	if _, err := c.Do(ctx, http.MethodPut, path, nil, headers, body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Delete removes a configurable resource this provider manages; a 404 counts as done.
func (c *Client) Delete(ctx context.Context, path string) error {
	query := url.Values{"manager_identity": []string{c.Identity}}
	_, err := c.Do(ctx, http.MethodDelete, path, query, nil, nil, nil)
	if IsStatus(err, http.StatusNotFound) {
		return nil
	}
	return err
}

// List returns every item of a collection (following cursors), with optional filters.
func (c *Client) List(ctx context.Context, collection string, filters url.Values) ([]Envelope, error) {
	var items []Envelope
	cursor := ""
	for {
		query := url.Values{"limit": []string{"500"}}
		for k, v := range filters {
			query[k] = v
		}
		if cursor != "" {
			query.Set("cursor", cursor)
		}
		var page struct {
			Items      []Envelope `json:"items"`
			NextCursor *string    `json:"next_cursor"`
		}
		if _, err := c.Do(ctx, http.MethodGet, "/v1/"+collection, query, nil, nil, &page); err != nil {
			return nil, err
		}
		items = append(items, page.Items...)
		if page.NextCursor == nil || *page.NextCursor == "" {
			return items, nil
		}
		cursor = *page.NextCursor
	}
}
