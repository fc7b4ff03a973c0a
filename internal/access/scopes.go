package access

import (
	"fmt"
	"slices"
	"strings"
)

// Scopes are explicit: each names one area and read or write, write implies
// read, and there is no wildcard, so that a route added later is never
// covered by a key made before it without someone granting it.
var Scopes = []string{
	"orders:read", "orders:write",
	"transactions:read",
	"subscriptions:read",
	"invoices:read",
	"reconcile:read", "reconcile:write",
	"events:read",
	"webhooks:read", "webhooks:write",
	"connections:read", "connections:write",
	"keys:read", "keys:write",
	"audit:read",
	"catalog:read", "catalog:write",
	"automations:read", "automations:write",
	"security:admin",
}

// Roles, from most to least powerful (auditor sees only keys and audit).
var Roles = []string{"owner", "admin", "operator", "viewer", "auditor"}

// roleScopes is what each role may do.
var roleScopes = map[string]func(scope string) bool{
	"owner": func(string) bool { return true },
	"admin": func(s string) bool { return s != "security:admin" },
	"operator": func(s string) bool {
		return isRead(s) && s != "audit:read" && s != "keys:read" ||
			slices.Contains([]string{"orders:write", "reconcile:write", "webhooks:write", "automations:write"}, s)
	},
	"viewer":  func(s string) bool { return isRead(s) && s != "audit:read" && s != "keys:read" },
	"auditor": func(s string) bool { return s == "audit:read" || s == "keys:read" },
}

func isRead(scope string) bool { return strings.HasSuffix(scope, ":read") }

// Rights is a set of scopes, closed under "write implies read".
type Rights map[string]bool

// Has reports whether the rights include scope.
func (r Rights) Has(scope string) bool { return r[scope] }

// List returns the scopes in the order of Scopes.
func (r Rights) List() []string {
	var out []string
	for _, s := range Scopes {
		if r[s] {
			out = append(out, s)
		}
	}
	return out
}

// Intersect returns the scopes in both.
func (r Rights) Intersect(o Rights) Rights {
	out := Rights{}
	for s := range r {
		if o[s] {
			out[s] = true
		}
	}
	return out
}

// Covers reports whether r holds every scope of o.
func (r Rights) Covers(o Rights) bool {
	for s := range o {
		if !r[s] {
			return false
		}
	}
	return true
}

// ParseScopes checks scopes and returns them as rights (with the reads the
// writes imply).
func ParseScopes(scopes []string) (Rights, error) {
	r := Rights{}
	for _, s := range scopes {
		if !slices.Contains(Scopes, s) {
			return nil, fmt.Errorf("unknown scope %q (scopes: %s)", s, strings.Join(Scopes, " "))
		}
		r[s] = true
		if area, ok := strings.CutSuffix(s, ":write"); ok {
			r[area+":read"] = true
		}
	}
	return r, nil
}

// RoleRights returns what a role may do.
func RoleRights(role string) (Rights, error) {
	may, ok := roleScopes[role]
	if !ok {
		return nil, fmt.Errorf("unknown role %q (roles: %s)", role, strings.Join(Roles, " "))
	}
	r := Rights{}
	for _, s := range Scopes {
		if may(s) {
			r[s] = true
		}
	}
	return r, nil
}

// AllRights is every scope: what the host (the CLI on the database's
// machine, holding the master key) may do.
func AllRights() Rights {
	r, _ := RoleRights("owner")
	return r
}
