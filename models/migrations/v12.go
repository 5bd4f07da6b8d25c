package migrations

import (
	"context"

	"xorm.io/xorm"
)

type v12Virtual struct {
	ID          int64  `xorm:"pk autoincr"`
	OwnerID     int64  `xorm:"UNIQUE(s) NOT NULL"`
	Type        string `xorm:"VARCHAR(32) UNIQUE(s) NOT NULL"`
	PublishToID int64  `xorm:"NOT NULL DEFAULT 0"`
	UpdatedUnix int64  `xorm:"NOT NULL DEFAULT 0"`
}

func (v12Virtual) TableName() string { return "package_virtual" }

type v12VirtualMember struct {
	ID        int64  `xorm:"pk autoincr"`
	VirtualID int64  `xorm:"UNIQUE(s) INDEX NOT NULL"`
	Position  int    `xorm:"UNIQUE(s) NOT NULL"`
	MemberID  int64  `xorm:"INDEX NOT NULL DEFAULT 0"`
	URL       string `xorm:"VARCHAR(2048) NOT NULL DEFAULT ''"`
	Username  string `xorm:"VARCHAR(255) NOT NULL DEFAULT ''"`
	Token     string `xorm:"TEXT"`
	// AllowPrivate lets requests to the upstream reach loopback and
	// private addresses (set by an administrator only).
	AllowPrivate bool   `xorm:"NOT NULL DEFAULT false"`
	Include      string `xorm:"TEXT"`
	Exclude      string `xorm:"TEXT"`
}

func (v12VirtualMember) TableName() string { return "package_virtual_member" }

type v12UpstreamDocument struct {
	ID           int64  `xorm:"pk autoincr"`
	VirtualID    int64  `xorm:"UNIQUE(s) NOT NULL"`
	URL          string `xorm:"VARCHAR(2048) UNIQUE(s) NOT NULL"`
	Status       int    `xorm:"NOT NULL DEFAULT 0"`
	Body         []byte `xorm:"BLOB"`
	ETag         string `xorm:"VARCHAR(512) NOT NULL DEFAULT ''"`
	LastModified string `xorm:"VARCHAR(64) NOT NULL DEFAULT ''"`
	FetchedUnix  int64  `xorm:"NOT NULL DEFAULT 0"`
}

func (v12UpstreamDocument) TableName() string { return "package_upstream_document" }

// v12CreateVirtual adds virtual registries: an owner's ordered members per
// package type, and the documents fetched from their upstreams.
func v12CreateVirtual(_ context.Context, tx *xorm.Session) error {
	return tx.Sync(new(v12Virtual), new(v12VirtualMember), new(v12UpstreamDocument))
}
