package migrations

import (
	"context"

	"xorm.io/xorm"
)

type v1User struct {
	ID                 int64  `xorm:"pk autoincr"`
	LowerName          string `xorm:"VARCHAR(40) UNIQUE NOT NULL"`
	Name               string `xorm:"VARCHAR(40) NOT NULL"`
	FullName           string `xorm:"VARCHAR(255) NOT NULL DEFAULT ''"`
	Email              string `xorm:"VARCHAR(255) NOT NULL DEFAULT ''"`
	LowerEmail         string `xorm:"VARCHAR(255) INDEX NOT NULL DEFAULT ''"`
	Passwd             string `xorm:"VARCHAR(255) NOT NULL DEFAULT ''"`
	MustChangePassword bool   `xorm:"NOT NULL DEFAULT false"`
	Type               int    `xorm:"INDEX NOT NULL DEFAULT 0"`
	IsAdmin            bool   `xorm:"INDEX NOT NULL DEFAULT false"`
	IsActive           bool   `xorm:"NOT NULL DEFAULT true"`
	ProhibitLogin      bool   `xorm:"NOT NULL DEFAULT false"`
	Visibility         int    `xorm:"NOT NULL DEFAULT 0"`
	Description        string `xorm:"TEXT"`
	Website            string `xorm:"VARCHAR(255) NOT NULL DEFAULT ''"`
	Location           string `xorm:"VARCHAR(255) NOT NULL DEFAULT ''"`
	CreatedUnix        int64  `xorm:"INDEX NOT NULL DEFAULT 0"`
	UpdatedUnix        int64  `xorm:"NOT NULL DEFAULT 0"`
	LastLoginUnix      int64  `xorm:"NOT NULL DEFAULT 0"`
}

func (v1User) TableName() string { return "user" }

type v1OrgUser struct {
	ID          int64 `xorm:"pk autoincr"`
	OrgID       int64 `xorm:"UNIQUE(s) INDEX NOT NULL"`
	UID         int64 `xorm:"UNIQUE(s) INDEX NOT NULL"`
	Role        int   `xorm:"NOT NULL DEFAULT 1"`
	CreatedUnix int64 `xorm:"NOT NULL DEFAULT 0"`
}

func (v1OrgUser) TableName() string { return "org_user" }

type v1AccessToken struct {
	ID             int64  `xorm:"pk autoincr"`
	UID            int64  `xorm:"UNIQUE(uid_name) INDEX NOT NULL"`
	Name           string `xorm:"VARCHAR(255) UNIQUE(uid_name) NOT NULL"`
	TokenHash      string `xorm:"VARCHAR(64) UNIQUE NOT NULL"`
	TokenSalt      string `xorm:"VARCHAR(32) NOT NULL"`
	TokenLastEight string `xorm:"VARCHAR(8) INDEX NOT NULL"`
	Scope          string `xorm:"VARCHAR(512) NOT NULL DEFAULT ''"`
	CreatedUnix    int64  `xorm:"NOT NULL DEFAULT 0"`
	UpdatedUnix    int64  `xorm:"NOT NULL DEFAULT 0"`
}

func (v1AccessToken) TableName() string { return "access_token" }

func v1CreateAccounts(_ context.Context, tx *xorm.Session) error {
	return tx.Sync(new(v1User), new(v1OrgUser), new(v1AccessToken))
}
