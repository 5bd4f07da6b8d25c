package org_test

import (
	"context"
	"testing"
	"time"

	"wharf/models/db"
	"wharf/models/organization"
	"wharf/models/unittest"
	user_model "wharf/models/user"
	"wharf/modules/apperr"
	org_service "wharf/services/org"
	user_service "wharf/services/user"
)

func setup(t *testing.T) (*user_service.Service, *org_service.Service, func(string, bool) *user_model.User) {
	d := unittest.NewDB(t)
	now := func() time.Time { return time.Unix(1_800_000_000, 0) }
	users := user_service.New(user_service.Deps{DB: d, Log: unittest.DiscardLogger(), Now: now, MinPasswordLength: 8})
	orgs := org_service.New(org_service.Deps{DB: d, Now: now, Users: users})
	mk := func(name string, admin bool) *user_model.User {
		u, err := users.Create(context.Background(), user_service.CreateOptions{Name: name, Email: name + "@example.com", Password: "password1", Admin: admin})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	return users, orgs, mk
}

func kind(t *testing.T, err error, want apperr.Kind) {
	t.Helper()
	if apperr.KindOf(err) != want {
		t.Fatalf("err = %v, want kind %v", err, want)
	}
}

func TestRoles(t *testing.T) {
	_, orgs, mk := setup(t)
	ctx := context.Background()
	owner, writer, reader, outsider, admin := mk("olivia", false), mk("walter", false), mk("rita", false), mk("oscar", false), mk("root", true)
	o, err := orgs.Create(ctx, owner, org_service.CreateOptions{Name: "Acme", FullName: "Acme Inc."})
	if err != nil {
		t.Fatal(err)
	}
	_, err = orgs.Create(ctx, owner, org_service.CreateOptions{Name: "acme"})
	kind(t, err, apperr.Unprocessable)
	_, err = orgs.Create(ctx, owner, org_service.CreateOptions{Name: "olivia"})
	kind(t, err, apperr.Unprocessable)
	_, err = orgs.Create(ctx, owner, org_service.CreateOptions{Name: "admin"})
	kind(t, err, apperr.Unprocessable)

	if err := orgs.SetMember(ctx, owner, "acme", "walter", organization.RoleWrite); err != nil {
		t.Fatal(err)
	}
	if err := orgs.SetMember(ctx, owner, "acme", "rita", organization.RoleRead); err != nil {
		t.Fatal(err)
	}
	kind(t, orgs.SetMember(ctx, writer, "acme", "oscar", organization.RoleRead), apperr.Forbidden)
	kind(t, orgs.SetMember(ctx, outsider, "acme", "oscar", organization.RoleOwner), apperr.Forbidden)
	kind(t, orgs.SetMember(ctx, owner, "acme", "acme", organization.RoleRead), apperr.Unprocessable)
	kind(t, orgs.SetMember(ctx, owner, "acme", "ghost-user", organization.RoleRead), apperr.NotFound)

	for _, c := range []struct {
		u    *user_model.User
		want organization.Role
	}{{owner, organization.RoleOwner}, {writer, organization.RoleWrite}, {reader, organization.RoleRead}, {outsider, organization.RoleNone}, {admin, organization.RoleOwner}, {nil, organization.RoleNone}} {
		got, err := orgs.RoleOf(ctx, o, c.u)
		if err != nil || got != c.want {
			t.Errorf("RoleOf = %v, %v; want %v", got, err, c.want)
		}
	}

	// The last owner can neither be demoted nor removed; a second owner
	// makes both possible.
	kind(t, orgs.SetMember(ctx, owner, "acme", "olivia", organization.RoleRead), apperr.Unprocessable)
	kind(t, orgs.RemoveMember(ctx, owner, "acme", "olivia"), apperr.Unprocessable)
	if err := orgs.SetMember(ctx, owner, "acme", "walter", organization.RoleOwner); err != nil {
		t.Fatal(err)
	}
	if err := orgs.SetMember(ctx, writer, "acme", "olivia", organization.RoleWrite); err != nil {
		t.Fatal(err)
	}

	// Members may leave; only owners remove others.
	kind(t, orgs.RemoveMember(ctx, reader, "acme", "olivia"), apperr.Forbidden)
	if err := orgs.RemoveMember(ctx, reader, "acme", "rita"); err != nil {
		t.Fatal(err)
	}
	kind(t, orgs.RemoveMember(ctx, writer, "acme", "rita"), apperr.NotFound)

	members, total, err := orgs.ListMembers(ctx, writer, "acme", db.ListOptions{Page: 1, PageSize: 10})
	if err != nil || total != 2 || len(members) != 2 || members[0].User.Name != "olivia" || members[1].Role != organization.RoleOwner {
		t.Fatalf("members = %+v (%d), %v", members, total, err)
	}
	_, _, err = orgs.ListMembers(ctx, outsider, "acme", db.ListOptions{Page: 1, PageSize: 10})
	kind(t, err, apperr.Forbidden)

	name := "Acme Corporation"
	vis := user_model.VisibilityPrivate
	kind(t, func() error { _, err := orgs.Edit(ctx, owner, "acme", org_service.Info{FullName: &name}); return err }(), apperr.Forbidden)
	edited, err := orgs.Edit(ctx, writer, "acme", org_service.Info{FullName: &name, Visibility: &vis})
	if err != nil || edited.FullName != name || edited.Visibility != vis {
		t.Fatalf("Edit = %+v, %v", edited, err)
	}
	_, err = orgs.Get(ctx, outsider, "acme")
	kind(t, err, apperr.NotFound)

	kind(t, orgs.Delete(ctx, owner, "acme"), apperr.Forbidden)
	if err := orgs.Delete(ctx, writer, "acme"); err != nil {
		t.Fatal(err)
	}
	_, err = orgs.Get(ctx, admin, "acme")
	kind(t, err, apperr.NotFound)
}
