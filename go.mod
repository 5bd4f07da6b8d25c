module wharf

go 1.26.8

require (
	github.com/dustin/go-humanize v1.1.0
	github.com/lib/pq v1.12.3
	github.com/mattn/go-sqlite3 v1.14.53
	golang.org/x/crypto v0.58.0
	gopkg.in/ini.v1 v1.67.3
	xorm.io/builder v0.3.13
	xorm.io/xorm v1.4.3
)

require (
	github.com/goccy/go-json v0.10.5 // indirect
	github.com/golang/snappy v0.0.4 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
	github.com/syndtr/goleveldb v1.0.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
)
