// Copyright (c) fleet.ghcr contributors
// GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
// SPDX-License-Identifier: GPL-3.0-or-later

// Command oracle tells what the real Go registry clients make of an auth file.
//
// Usage: oracle ENGINE REGISTRY_KEY < file.json
//
// ENGINE "docker" mirrors docker/cli (cli/config/configfile/file.go,
// cli/config/credentials/file_store.go, cli/config/types/authconfig.go);
// ENGINE "podman" mirrors containers/image pkg/docker/config/config.go.
// The structs, the JSON decoding calls and the lookup functions below are
// copies of that code, using only the standard library, so that Go's own
// encoding/json, encoding/base64 and net/url make every parsing decision.
//
// One JSON object is printed on stdout and the exit status is 0, whatever the
// file holds; only a usage error exits 2.
//
// Where the real client's answer depends on Go's random map iteration order
// (several keys normalising to the same host, or docker's decodeAuth loop
// stopping half-way), every possible outcome is listed in "alternatives"; when
// they differ, "source" is "ambiguous" and the credential fields are empty.
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"sort"
	"strings"
	"unicode/utf8"
)

// ---------------------------------------------------------------------------
// docker/cli types (cli/config/configfile/file.go, cli/config/types/authconfig.go)

// AuthConfig contains authorization information for connecting to a Registry.
// Email is the field docker/cli had until v29.0.0 (removed in e9664b9f34).
type AuthConfig struct {
	Username      string `json:"username,omitempty"`
	Password      string `json:"password,omitempty"`
	Auth          string `json:"auth,omitempty"`
	Email         string `json:"email,omitempty"`
	ServerAddress string `json:"serveraddress,omitempty"`
	IdentityToken string `json:"identitytoken,omitempty"`
	RegistryToken string `json:"registrytoken,omitempty"`
}

// ProxyConfig contains proxy configuration settings.
type ProxyConfig struct {
	HTTPProxy  string `json:"httpProxy,omitempty"`
	HTTPSProxy string `json:"httpsProxy,omitempty"`
	NoProxy    string `json:"noProxy,omitempty"`
	FTPProxy   string `json:"ftpProxy,omitempty"`
	AllProxy   string `json:"allProxy,omitempty"`
}

// ConfigFile ~/.docker/config.json file info.
type ConfigFile struct {
	AuthConfigs          map[string]AuthConfig        `json:"auths"`
	HTTPHeaders          map[string]string            `json:"HttpHeaders,omitempty"`
	PsFormat             string                       `json:"psFormat,omitempty"`
	ImagesFormat         string                       `json:"imagesFormat,omitempty"`
	NetworksFormat       string                       `json:"networksFormat,omitempty"`
	PluginsFormat        string                       `json:"pluginsFormat,omitempty"`
	VolumesFormat        string                       `json:"volumesFormat,omitempty"`
	StatsFormat          string                       `json:"statsFormat,omitempty"`
	DetachKeys           string                       `json:"detachKeys,omitempty"`
	CredentialsStore     string                       `json:"credsStore,omitempty"`
	CredentialHelpers    map[string]string            `json:"credHelpers,omitempty"`
	Filename             string                       `json:"-"`
	ServiceInspectFormat string                       `json:"serviceInspectFormat,omitempty"`
	ServicesFormat       string                       `json:"servicesFormat,omitempty"`
	TasksFormat          string                       `json:"tasksFormat,omitempty"`
	SecretFormat         string                       `json:"secretFormat,omitempty"`
	ConfigFormat         string                       `json:"configFormat,omitempty"`
	NodesFormat          string                       `json:"nodesFormat,omitempty"`
	PruneFilters         []string                     `json:"pruneFilters,omitempty"`
	Proxies              map[string]ProxyConfig       `json:"proxies,omitempty"`
	CurrentContext       string                       `json:"currentContext,omitempty"`
	CLIPluginsExtraDirs  []string                     `json:"cliPluginsExtraDirs,omitempty"`
	Plugins              map[string]map[string]string `json:"plugins,omitempty"`
	Aliases              map[string]string            `json:"aliases,omitempty"`
	Features             map[string]string            `json:"features,omitempty"`
}

const authConfigKey = "https://index.docker.io/v1/"

func getAuthConfigKey(domainName string) string {
	if domainName == "docker.io" || domainName == "index.docker.io" {
		return authConfigKey
	}
	return domainName
}

// newConfigFile is configfile.New.
func newConfigFile(fn string) *ConfigFile {
	return &ConfigFile{
		AuthConfigs: make(map[string]AuthConfig),
		HTTPHeaders: make(map[string]string),
		Filename:    fn,
		Plugins:     make(map[string]map[string]string),
		Aliases:     make(map[string]string),
	}
}

func (c *ConfigFile) containsAuth() bool {
	return c.CredentialsStore != "" || len(c.CredentialHelpers) > 0 || len(c.AuthConfigs) > 0
}

// decodeAuth is copied verbatim (note: string(decoded), not decoded[:n]).
func decodeAuth(authStr string) (string, string, error) {
	if authStr == "" {
		return "", "", nil
	}

	decLen := base64.StdEncoding.DecodedLen(len(authStr))
	decoded := make([]byte, decLen)
	authByte := []byte(authStr)
	n, err := base64.StdEncoding.Decode(decoded, authByte)
	if err != nil {
		return "", "", err
	}
	if n > decLen {
		return "", "", errors.New("something went wrong decoding auth config")
	}
	userName, password, ok := strings.Cut(string(decoded), ":")
	if !ok || userName == "" {
		return "", "", errors.New("invalid auth configuration file")
	}
	return userName, strings.Trim(password, "\x00"), nil
}

func getConfiguredCredentialStore(c *ConfigFile, registryHostname string) string {
	if c.CredentialHelpers != nil && registryHostname != "" {
		if helper, exists := c.CredentialHelpers[registryHostname]; exists {
			return helper
		}
	}
	return c.CredentialsStore
}

// ConvertToHostname is credentials.ConvertToHostname (docker/cli HEAD).
func ConvertToHostname(maybeURL string) string {
	stripped := maybeURL
	if strings.Contains(stripped, "://") {
		u, err := url.Parse(stripped)
		if err == nil && u.Hostname() != "" {
			if u.Port() == "" {
				return u.Hostname()
			}
			return net.JoinHostPort(u.Hostname(), u.Port())
		}

		if hostName := hostFromURLFallback(stripped); hostName != "" {
			return hostName
		}
	}
	hostName, _, _ := strings.Cut(stripped, "/")
	return hostName
}

func hostFromURLFallback(maybeURL string) string {
	_, rest, ok := strings.Cut(maybeURL, "://")
	if !ok {
		return ""
	}

	hostName, _, _ := strings.Cut(rest, "/")
	if hostName == "" {
		return ""
	}

	if strings.Count(hostName, ":") > 1 && !strings.HasPrefix(hostName, "[") {
		portStart := strings.LastIndex(hostName, ":")
		addr, port := hostName[:portStart], hostName[portStart+1:]
		if addr != "" && isPort(port) {
			return net.JoinHostPort(addr, port)
		}
	}

	return hostName
}

func isPort(port string) bool {
	if port == "" {
		return false
	}
	for _, r := range port {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// ---------------------------------------------------------------------------
// containers/image types (image/pkg/docker/config/config.go)

type dockerAuthConfig struct {
	Auth          string `json:"auth,omitempty"`
	IdentityToken string `json:"identitytoken,omitempty"`
}

type dockerConfigFile struct {
	AuthConfigs map[string]dockerAuthConfig `json:"auths"`
	CredHelpers map[string]string           `json:"credHelpers,omitempty"`
}

// dockerAuthResult is types.DockerAuthConfig.
type dockerAuthResult struct {
	Username      string
	Password      string
	IdentityToken string
}

func validateKey(key string) (bool, error) {
	if strings.HasPrefix(key, "http://") || strings.HasPrefix(key, "https://") {
		return false, fmt.Errorf("key %s contains http[s]:// prefix", key)
	}
	if strings.ContainsRune(key, '@') {
		return false, fmt.Errorf(`key %s contains a '@' character`, key)
	}
	firstSlash := strings.IndexRune(key, '/')
	isNamespaced := firstSlash != -1
	if isNamespaced && strings.ContainsRune(key[firstSlash+1:], ':') {
		return false, fmt.Errorf(`key %s contains a ':' character after host[:port]`, key)
	}
	return isNamespaced, nil
}

// authKeyLookupOrder for a non-legacy file, as a slice instead of an iter.Seq.
func authKeyLookupOrder(key string) []string {
	var keys []string
	for {
		keys = append(keys, key)
		lastSlash := strings.LastIndex(key, "/")
		if lastSlash == -1 {
			break
		}
		key = key[:lastSlash]
	}
	return keys
}

func decodeDockerAuth(conf dockerAuthConfig) (dockerAuthResult, error) {
	decoded, err := base64.StdEncoding.DecodeString(conf.Auth)
	if err != nil {
		return dockerAuthResult{}, err
	}
	user, passwordPart, valid := strings.Cut(string(decoded), ":")
	if !valid {
		return dockerAuthResult{}, nil
	}
	password := strings.Trim(passwordPart, "\x00")
	return dockerAuthResult{Username: user, Password: password, IdentityToken: conf.IdentityToken}, nil
}

func normalizeAuthFileKey(key string) string {
	stripped := strings.TrimPrefix(key, "http://")
	stripped = strings.TrimPrefix(stripped, "https://")
	if stripped != key {
		stripped, _, _ = strings.Cut(stripped, "/")
	}
	return normalizeRegistry(stripped)
}

func normalizeRegistry(registry string) string {
	switch registry {
	case "registry-1.docker.io", "docker.io":
		return "index.docker.io"
	}
	return registry
}

// ---------------------------------------------------------------------------
// Report

// Outcome is one possible answer of a lookup.
type Outcome struct {
	Source        string  `json:"source"` // "entry" or "none"
	LookupError   *string `json:"lookup_error"`
	Key           *string `json:"key"`
	Username      string  `json:"username"`
	Password      string  `json:"password"`
	IdentityToken string  `json:"identitytoken"`
	RegistryToken string  `json:"registrytoken"`
}

// Report is the single JSON object printed on stdout.
type Report struct {
	Engine      string `json:"engine"`
	RegistryKey string `json:"registry_key"`
	// docker: getAuthConfigKey(REGISTRY_KEY); podman: the registry part of the key.
	LookupKey string  `json:"lookup_key"`
	Loaded    bool    `json:"loaded"`
	Error     *string `json:"error"`
	// docker only: loading failed but the config docker keeps in memory is not
	// empty (a type error or a decodeAuth error leaves the rest of the file
	// decoded), and the resolution below was done against that config.
	Partial bool `json:"partial"`
	// docker only: ConfigFile.ContainsAuth(); when false, LoadDefaultConfigFile
	// probes PATH for a platform credential helper (pass / secretservice).
	ContainsAuth *bool `json:"contains_auth"`
	// podman only: a base64 error or an invalid key; the lookup fails.
	LookupError *string `json:"lookup_error"`
	// podman: the whole credential lookup returns an error (loaded false or lookup_error).
	Fatal         bool       `json:"fatal"`
	Source        string     `json:"source"` // "helper", "entry", "none" or "ambiguous"
	Helper        *string    `json:"helper"`
	Key           *string    `json:"key"`
	Candidates    []string   `json:"candidates"`
	Username      string     `json:"username"`
	Password      string     `json:"password"`
	IdentityToken string     `json:"identitytoken"`
	RegistryToken string     `json:"registrytoken"`
	OrderDepend   bool       `json:"order_dependent"`
	Alternatives  []Outcome  `json:"alternatives"`
	BytesHex      *bytesHexT `json:"bytes_hex,omitempty"`
}

// bytesHexT carries the exact bytes when a credential is not valid UTF-8
// (encoding/json would replace invalid bytes with U+FFFD on output).
type bytesHexT struct {
	Username      string `json:"username"`
	Password      string `json:"password"`
	IdentityToken string `json:"identitytoken"`
	RegistryToken string `json:"registrytoken"`
}

func strp(s string) *string { return &s }

// goErrText names the types as the real packages do, not as package main.
func goErrText(err error) string {
	return strings.NewReplacer(
		"main.ConfigFile", "configfile.ConfigFile",
		"main.ProxyConfig", "configfile.ProxyConfig",
		"main.AuthConfig", "types.AuthConfig",
		"main.dockerConfigFile", "config.dockerConfigFile",
		"main.dockerAuthConfig", "config.dockerAuthConfig",
	).Replace(err.Error())
}

func entryOutcome(key string, u, p, it, rt string) Outcome {
	o := Outcome{Source: "entry", Key: strp(key), Username: u, Password: p, IdentityToken: it, RegistryToken: rt}
	if u == "" && p == "" && it == "" && rt == "" {
		o.Source = "none"
	}
	return o
}

func outcomeID(o Outcome, withKey bool) string {
	k := ""
	if withKey && o.Key != nil {
		k = *o.Key
	}
	b, _ := json.Marshal(struct {
		K  string
		S  string
		E  *string
		U  string
		P  string
		IT string
		RT string
	}{k, o.Source, o.LookupError, o.Username, o.Password, o.IdentityToken, o.RegistryToken})
	return string(b)
}

func dedupe(outcomes []Outcome, withKey bool) []Outcome {
	seen := map[string]bool{}
	distinct := []Outcome{}
	for _, o := range outcomes {
		id := outcomeID(o, withKey)
		if !seen[id] {
			seen[id] = true
			distinct = append(distinct, o)
		}
	}
	return distinct
}

// settle fills the report from the possible outcomes (one per candidate and
// decoding state). Identical outcomes collapse; different ones are ambiguous.
func settle(r *Report, outcomes []Outcome) {
	r.Alternatives = dedupe(outcomes, true)
	distinct := dedupe(outcomes, false)
	switch {
	case len(distinct) == 0:
		r.Source = "none"
	case len(distinct) == 1:
		o := distinct[0]
		r.Source = o.Source
		r.LookupError = o.LookupError
		r.Username, r.Password, r.IdentityToken, r.RegistryToken = o.Username, o.Password, o.IdentityToken, o.RegistryToken
	default:
		r.Source = "ambiguous"
		r.OrderDepend = true
	}
	if !utf8.ValidString(r.Username) || !utf8.ValidString(r.Password) || !utf8.ValidString(r.IdentityToken) || !utf8.ValidString(r.RegistryToken) {
		r.BytesHex = &bytesHexT{hex.EncodeToString([]byte(r.Username)), hex.EncodeToString([]byte(r.Password)),
			hex.EncodeToString([]byte(r.IdentityToken)), hex.EncodeToString([]byte(r.RegistryToken))}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ---------------------------------------------------------------------------
// docker

func resolveDocker(data []byte, registry string) Report {
	r := Report{Engine: "docker", RegistryKey: registry, Candidates: []string{}}

	// configfile.LoadFromReader on configfile.New(), as config.load does.
	c := newConfigFile("config.json")
	var loadErr error
	jsonFailed := false
	if err := json.NewDecoder(bytes.NewReader(data)).Decode(c); err != nil && !errors.Is(err, io.EOF) {
		loadErr, jsonFailed = err, true
	}

	// The decodeAuth loop runs over a Go map and returns at the first failing
	// entry: entries visited before it are decoded, the others are not. So for
	// every key, list the states it may be left in.
	raw := map[string]AuthConfig{}
	for k, v := range c.AuthConfigs {
		raw[k] = v
	}
	decodedState := map[string]AuthConfig{}
	failing := map[string]bool{}
	errTexts := map[string]bool{}
	if !jsonFailed {
		for _, k := range sortedKeys(raw) {
			ac := raw[k]
			if ac.Auth != "" {
				u, p, err := decodeAuth(ac.Auth)
				if err != nil {
					failing[k] = true
					errTexts[err.Error()] = true
					if loadErr == nil {
						loadErr = err // first in sorted order; the real one depends on map order
					}
					continue
				}
				ac.Username, ac.Password = u, p
			}
			ac.Auth = ""
			ac.ServerAddress = k
			decodedState[k] = ac
		}
	}
	states := func(k string) []AuthConfig {
		switch {
		case jsonFailed:
			return []AuthConfig{raw[k]}
		case len(failing) == 0:
			return []AuthConfig{decodedState[k]}
		case failing[k]:
			return []AuthConfig{raw[k]}
		default:
			return []AuthConfig{raw[k], decodedState[k]}
		}
	}

	r.Loaded = loadErr == nil
	if loadErr != nil {
		r.Error = strp(goErrText(loadErr))
		r.Partial = c.containsAuth()
		if len(errTexts) > 1 {
			r.OrderDepend = true
		}
	}
	ca := c.containsAuth()
	r.ContainsAuth = &ca

	// ConfigFile.GetAuthConfig(registryHostname)
	acKey := getAuthConfigKey(registry)
	r.LookupKey = acKey
	if helper := getConfiguredCredentialStore(c, getAuthConfigKey(acKey)); helper != "" {
		r.Source = "helper"
		r.Helper = strp(helper)
		r.Alternatives = []Outcome{}
		return r
	}

	// fileStore.Get(acKey)
	var keys []string
	if _, ok := c.AuthConfigs[acKey]; ok {
		keys = []string{acKey}
		r.Key = strp(acKey)
	} else {
		for _, k := range sortedKeys(c.AuthConfigs) {
			if acKey == ConvertToHostname(k) {
				keys = append(keys, k)
			}
		}
		r.Candidates = append(r.Candidates, keys...)
		if len(keys) == 1 {
			r.Key = strp(keys[0])
		}
	}
	var outcomes []Outcome
	for _, k := range keys {
		for _, ac := range states(k) {
			outcomes = append(outcomes, entryOutcome(k, ac.Username, ac.Password, ac.IdentityToken, ac.RegistryToken))
		}
	}
	wasOrderDependent := r.OrderDepend
	settle(&r, outcomes)
	r.OrderDepend = r.OrderDepend || wasOrderDependent
	return r
}

// ---------------------------------------------------------------------------
// podman (containers/image)

func resolvePodman(data []byte, key string) Report {
	r := Report{Engine: "podman", RegistryKey: key, Candidates: []string{}, Alternatives: []Outcome{}}

	var registry string
	if firstSlash := strings.IndexRune(key, '/'); firstSlash != -1 {
		registry = key[:firstSlash]
	} else {
		registry = key
	}
	r.LookupKey = registry

	// authPath.parse (non-legacy format)
	var fileContents dockerConfigFile
	if err := json.Unmarshal(data, &fileContents); err != nil {
		r.Error = strp(goErrText(err))
		r.Fatal = true
		r.Source = "none"
		return r
	}
	r.Loaded = true
	if fileContents.AuthConfigs == nil {
		fileContents.AuthConfigs = map[string]dockerAuthConfig{}
	}
	if fileContents.CredHelpers == nil {
		fileContents.CredHelpers = make(map[string]string)
	}

	// getCredentialsWithHomeDir validates the key before reading any file.
	if _, err := validateKey(key); err != nil {
		r.LookupError = strp(err.Error())
		r.Fatal = true
		r.Source = "none"
		return r
	}

	// findCredentialsInFile
	if ch, exists := fileContents.CredHelpers[registry]; exists {
		r.Source = "helper"
		r.Helper = strp(ch)
		return r
	}

	outcome := func(k string, conf dockerAuthConfig) Outcome {
		res, err := decodeDockerAuth(conf)
		if err != nil {
			return Outcome{Source: "none", LookupError: strp(err.Error()), Key: strp(k)}
		}
		return entryOutcome(k, res.Username, res.Password, res.IdentityToken, "")
	}

	for _, k := range authKeyLookupOrder(key) {
		if val, exists := fileContents.AuthConfigs[k]; exists {
			r.Key = strp(k)
			settle(&r, []Outcome{outcome(k, val)})
			r.Fatal = r.LookupError != nil
			return r
		}
	}

	normalized := normalizeRegistry(registry)
	var outcomes []Outcome
	for _, k := range sortedKeys(fileContents.AuthConfigs) {
		if normalizeAuthFileKey(k) == normalized {
			r.Candidates = append(r.Candidates, k)
			outcomes = append(outcomes, outcome(k, fileContents.AuthConfigs[k]))
		}
	}
	if len(r.Candidates) == 1 {
		r.Key = strp(r.Candidates[0])
	}
	settle(&r, outcomes)
	r.Fatal = r.LookupError != nil
	return r
}

func main() {
	if len(os.Args) != 3 || (os.Args[1] != "docker" && os.Args[1] != "podman") {
		fmt.Fprintln(os.Stderr, "usage: oracle docker|podman REGISTRY_KEY < file.json")
		os.Exit(2)
	}
	data, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "oracle: reading stdin:", err)
		os.Exit(2)
	}
	var r Report
	if os.Args[1] == "docker" {
		r = resolveDocker(data, os.Args[2])
	} else {
		r = resolvePodman(data, os.Args[2])
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		fmt.Fprintln(os.Stderr, "oracle: encoding report:", err)
		os.Exit(2)
	}
}
