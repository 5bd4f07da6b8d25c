package migrations

import (
	"context"

	"xorm.io/xorm"
)

type v3Package struct {
	ID          int64  `xorm:"pk autoincr"`
	OwnerID     int64  `xorm:"UNIQUE(s) INDEX NOT NULL"`
	Type        string `xorm:"VARCHAR(32) UNIQUE(s) INDEX NOT NULL"`
	Name        string `xorm:"VARCHAR(255) NOT NULL"`
	LowerName   string `xorm:"VARCHAR(255) UNIQUE(s) INDEX NOT NULL"`
	RepoID      int64  `xorm:"INDEX NOT NULL DEFAULT 0"`
	CreatedUnix int64  `xorm:"NOT NULL DEFAULT 0"`
}

func (v3Package) TableName() string { return "package" }

type v3PackageVersion struct {
	ID            int64  `xorm:"pk autoincr"`
	PackageID     int64  `xorm:"UNIQUE(s) INDEX NOT NULL"`
	CreatorID     int64  `xorm:"NOT NULL DEFAULT 0"`
	Version       string `xorm:"VARCHAR(255) NOT NULL"`
	LowerVersion  string `xorm:"VARCHAR(255) UNIQUE(s) INDEX NOT NULL"`
	MetadataJSON  string `xorm:"TEXT"`
	DownloadCount int64  `xorm:"NOT NULL DEFAULT 0"`
	CreatedUnix   int64  `xorm:"INDEX NOT NULL DEFAULT 0"`
}

func (v3PackageVersion) TableName() string { return "package_version" }

type v3PackageFile struct {
	ID           int64  `xorm:"pk autoincr"`
	VersionID    int64  `xorm:"UNIQUE(s) INDEX NOT NULL"`
	BlobID       int64  `xorm:"INDEX NOT NULL"`
	Name         string `xorm:"VARCHAR(255) NOT NULL"`
	LowerName    string `xorm:"VARCHAR(255) UNIQUE(s) INDEX NOT NULL"`
	CompositeKey string `xorm:"VARCHAR(255) UNIQUE(s) INDEX NOT NULL DEFAULT ''"`
	IsLead       bool   `xorm:"NOT NULL DEFAULT false"`
	CreatedUnix  int64  `xorm:"INDEX NOT NULL DEFAULT 0"`
}

func (v3PackageFile) TableName() string { return "package_file" }

type v3PackageBlob struct {
	ID          int64  `xorm:"pk autoincr"`
	Size        int64  `xorm:"NOT NULL DEFAULT 0"`
	HashMD5     string `xorm:"hash_md5 CHAR(32) NOT NULL"`
	HashSHA1    string `xorm:"hash_sha1 CHAR(40) NOT NULL"`
	HashSHA256  string `xorm:"hash_sha256 CHAR(64) UNIQUE NOT NULL"`
	HashSHA512  string `xorm:"hash_sha512 CHAR(128) NOT NULL"`
	CreatedUnix int64  `xorm:"INDEX NOT NULL DEFAULT 0"`
}

func (v3PackageBlob) TableName() string { return "package_blob" }

type v3PackageProperty struct {
	ID      int64  `xorm:"pk autoincr"`
	RefType int    `xorm:"INDEX(ref) NOT NULL"`
	RefID   int64  `xorm:"INDEX(ref) NOT NULL"`
	Name    string `xorm:"VARCHAR(255) INDEX NOT NULL"`
	Value   string `xorm:"TEXT"`
}

func (v3PackageProperty) TableName() string { return "package_property" }

type v3Job struct {
	ID          int64  `xorm:"pk autoincr"`
	Kind        string `xorm:"VARCHAR(100) INDEX NOT NULL"`
	Payload     string `xorm:"TEXT"`
	RunAt       int64  `xorm:"INDEX(due) NOT NULL DEFAULT 0"`
	LockedUntil int64  `xorm:"INDEX(due) NOT NULL DEFAULT 0"`
	Attempts    int    `xorm:"NOT NULL DEFAULT 0"`
	LastError   string `xorm:"TEXT"`
	Failed      bool   `xorm:"INDEX(due) NOT NULL DEFAULT false"`
	CreatedUnix int64  `xorm:"NOT NULL DEFAULT 0"`
}

func (v3Job) TableName() string { return "job" }

func v3CreatePackagesAndJobs(_ context.Context, tx *xorm.Session) error {
	return tx.Sync(new(v3Package), new(v3PackageVersion), new(v3PackageFile), new(v3PackageBlob), new(v3PackageProperty), new(v3Job))
}
