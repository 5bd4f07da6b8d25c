package migrations

import (
	"context"

	"xorm.io/xorm"
)

type v8RubyGemsGem struct {
	ID         int64  `xorm:"pk autoincr"`
	OwnerID    int64  `xorm:"UNIQUE(s) INDEX NOT NULL"`
	LowerName  string `xorm:"VARCHAR(255) UNIQUE(s) NOT NULL"`
	Name       string `xorm:"VARCHAR(255) NOT NULL"`
	Listed     string `xorm:"TEXT NOT NULL"`
	Info       string `xorm:"TEXT NOT NULL"`
	InfoMD5    string `xorm:"info_md5 CHAR(32) NOT NULL"`
	InfoSHA256 string `xorm:"info_sha256 VARCHAR(64) NOT NULL"`
}

func (v8RubyGemsGem) TableName() string { return "rubygems_gem" }

type v8RubyGemsVersionsFile struct {
	OwnerID     int64  `xorm:"pk"`
	CreatedUnix int64  `xorm:"NOT NULL DEFAULT 0"`
	FirstLine   int64  `xorm:"NOT NULL DEFAULT 0"`
	LastLine    int64  `xorm:"NOT NULL DEFAULT 0"`
	Size        int64  `xorm:"NOT NULL DEFAULT 0"`
	MD5         string `xorm:"md5 CHAR(32) NOT NULL"`
	SHA256      string `xorm:"sha256 VARCHAR(64) NOT NULL"`
	MD5State    string `xorm:"md5_state TEXT NOT NULL"`
	SHA256State string `xorm:"sha256_state TEXT NOT NULL"`
	ChangedUnix int64  `xorm:"NOT NULL DEFAULT 0"`
}

func (v8RubyGemsVersionsFile) TableName() string { return "rubygems_versions_file" }

type v8RubyGemsVersionsLine struct {
	ID      int64  `xorm:"pk autoincr"`
	OwnerID int64  `xorm:"UNIQUE(s) NOT NULL"`
	Serial  int64  `xorm:"UNIQUE(s) NOT NULL"`
	Line    string `xorm:"TEXT NOT NULL"`
}

func (v8RubyGemsVersionsLine) TableName() string { return "rubygems_versions_line" }

// v8CreateRubyGemsIndex adds each owner's RubyGems compact index: a row
// per gem with its info body and digests, and the versions file as a
// header state plus an append-only log of lines.
func v8CreateRubyGemsIndex(_ context.Context, tx *xorm.Session) error {
	return tx.Sync(new(v8RubyGemsGem), new(v8RubyGemsVersionsFile), new(v8RubyGemsVersionsLine))
}
