package cmd

import (
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"wharf/models/db"
	"wharf/modules/secret"
	user_service "wharf/services/user"
)

func adminCommand(env Env) *cli.Command {
	return &cli.Command{
		Name:  "admin",
		Usage: "administer an installed instance (its configuration file must exist)",
		Flags: configFlags(),
		Subcommands: []*cli.Command{{
			Name:  "user",
			Usage: "manage user accounts",
			Flags: configFlags(),
			Subcommands: []*cli.Command{
				userCreateCommand(env),
				userListCommand(env),
				userDeleteCommand(env),
				userTokenCommand(env),
				userChangePasswordCommand(env),
			},
		}, adminCleanupCommand(env)},
	}
}

func userCreateCommand(env Env) *cli.Command {
	return &cli.Command{
		Name:  "create",
		Usage: "create a user",
		Flags: append(configFlags(),
			&cli.StringFlag{Name: "username", Usage: "user name"},
			&cli.StringFlag{Name: "name", Usage: "deprecated: use --username"},
			&cli.StringFlag{Name: "password", Usage: "password"},
			&cli.StringFlag{Name: "email", Usage: "e-mail address", Required: true},
			&cli.StringFlag{Name: "fullname", Usage: "full name"},
			&cli.BoolFlag{Name: "admin", Usage: "make the user a site administrator"},
			&cli.BoolFlag{Name: "random-password", Usage: "generate a password and print it"},
			&cli.IntFlag{Name: "random-password-length", Value: 24, Usage: "length of the generated password"},
			&cli.BoolFlag{Name: "must-change-password", Value: true, Usage: "require a password change at the first sign-in"},
			&cli.BoolFlag{Name: "access-token", Usage: "also create an access token and print it"},
			&cli.StringFlag{Name: "access-token-name", Value: "wharf-admin", Usage: "name of that token"},
			&cli.StringFlag{Name: "access-token-scopes", Value: "all", Usage: "comma-separated scopes of that token"},
		),
		Action: func(c *cli.Context) error {
			name := c.String("username")
			if name == "" {
				name = c.String("name")
			}
			if name == "" {
				return errors.New("--username is required")
			}
			password := c.String("password")
			switch {
			case c.Bool("random-password") && password != "":
				return errors.New("--password and --random-password cannot be used together")
			case c.Bool("random-password"):
				p, err := randomPassword(c.Int("random-password-length"))
				if err != nil {
					return err
				}
				password = p
			case password == "":
				return errors.New("--password or --random-password is required")
			}
			app, err := openInstalled(c, env)
			if err != nil {
				return err
			}
			defer app.Close()
			u, err := app.Users.Create(c.Context, user_service.CreateOptions{
				Name: name, Email: c.String("email"), Password: password, FullName: c.String("fullname"),
				Admin: c.Bool("admin"), MustChangePassword: c.Bool("must-change-password"),
			})
			if err != nil {
				return err
			}
			if c.Bool("random-password") {
				fmt.Fprintf(env.Stdout, "generated random password is '%s'\n", password)
			}
			if c.Bool("access-token") {
				_, token, err := app.Users.CreateToken(c.Context, u, c.String("access-token-name"), []string{c.String("access-token-scopes")})
				if err != nil {
					return fmt.Errorf("user %q was created, but its access token was not: %w", u.Name, err)
				}
				fmt.Fprintf(env.Stdout, "Access token was successfully created... %s\n", token)
			}
			fmt.Fprintf(env.Stdout, "New user '%s' has been successfully created!\n", u.Name)
			return nil
		},
	}
}

// randomPassword returns a password of n characters (at least 8).
func randomPassword(n int) (string, error) {
	if n < 8 {
		return "", errors.New("--random-password-length must be at least 8")
	}
	var b strings.Builder
	for b.Len() < n {
		p, err := secret.RandomPassword()
		if err != nil {
			return "", err
		}
		b.WriteString(p)
	}
	return b.String()[:n], nil
}

func userListCommand(env Env) *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "list users",
		Flags: append(configFlags(), &cli.BoolFlag{Name: "admin", Usage: "list only administrators"}),
		Action: func(c *cli.Context) error {
			app, err := openInstalled(c, env)
			if err != nil {
				return err
			}
			defer app.Close()
			tw := tabwriter.NewWriter(env.Stdout, 5, 0, 1, ' ', 0)
			fmt.Fprintln(tw, "ID\tUsername\tEmail\tIsActive\tIsAdmin")
			for page := 1; ; page++ {
				users, _, err := app.Users.ListAll(c.Context, db.ListOptions{Page: page, PageSize: 500})
				if err != nil {
					return err
				}
				for _, u := range users {
					if c.Bool("admin") && !u.IsAdmin {
						continue
					}
					fmt.Fprintf(tw, "%d\t%s\t%s\t%t\t%t\n", u.ID, u.Name, u.Email, u.IsActive, u.IsAdmin)
				}
				if len(users) < 500 {
					break
				}
			}
			return tw.Flush()
		},
	}
}

func userDeleteCommand(env Env) *cli.Command {
	return &cli.Command{
		Name:  "delete",
		Usage: "delete a user",
		Flags: append(configFlags(),
			&cli.StringFlag{Name: "username", Aliases: []string{"u"}, Usage: "user name"},
			&cli.Int64Flag{Name: "id", Usage: "user id"},
		),
		Action: func(c *cli.Context) error {
			name, id := c.String("username"), c.Int64("id")
			if name == "" && id == 0 {
				return errors.New("--username or --id is required")
			}
			app, err := openInstalled(c, env)
			if err != nil {
				return err
			}
			defer app.Close()
			if id != 0 {
				u, err := app.Users.GetByID(c.Context, id)
				if err != nil {
					return err
				}
				if name != "" && !strings.EqualFold(name, u.Name) {
					return fmt.Errorf("the user with id %d is %q, not %q", id, u.Name, name)
				}
				name = u.Name
			}
			if err := app.Users.Delete(c.Context, name); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "User '%s' has been deleted.\n", name)
			return nil
		},
	}
}

func userTokenCommand(env Env) *cli.Command {
	return &cli.Command{
		Name:  "generate-access-token",
		Usage: "create a personal access token for a user",
		Flags: append(configFlags(),
			&cli.StringFlag{Name: "username", Aliases: []string{"u"}, Usage: "user name", Required: true},
			&cli.StringFlag{Name: "token-name", Aliases: []string{"t"}, Value: "wharf-admin", Usage: "token name"},
			&cli.StringFlag{Name: "scopes", Value: "all", Usage: "comma-separated scopes, e.g. read:package,write:package"},
			&cli.BoolFlag{Name: "raw", Usage: "print only the token"},
		),
		Action: func(c *cli.Context) error {
			app, err := openInstalled(c, env)
			if err != nil {
				return err
			}
			defer app.Close()
			u, err := app.Users.GetByName(c.Context, c.String("username"))
			if err != nil {
				return err
			}
			_, token, err := app.Users.CreateToken(c.Context, u, c.String("token-name"), []string{c.String("scopes")})
			if err != nil {
				return err
			}
			if c.Bool("raw") {
				fmt.Fprintln(env.Stdout, token)
			} else {
				fmt.Fprintf(env.Stdout, "Access token was successfully created: %s\n", token)
			}
			return nil
		},
	}
}

func userChangePasswordCommand(env Env) *cli.Command {
	return &cli.Command{
		Name:  "change-password",
		Usage: "set a user's password",
		Flags: append(configFlags(),
			&cli.StringFlag{Name: "username", Aliases: []string{"u"}, Usage: "user name", Required: true},
			&cli.StringFlag{Name: "password", Aliases: []string{"p"}, Usage: "new password", Required: true},
			&cli.BoolFlag{Name: "must-change-password", Value: true, Usage: "require a change at the next sign-in"},
		),
		Action: func(c *cli.Context) error {
			app, err := openInstalled(c, env)
			if err != nil {
				return err
			}
			defer app.Close()
			if err := app.Users.ChangePassword(c.Context, c.String("username"), c.String("password"), c.Bool("must-change-password")); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "%s's password has been successfully updated!\n", c.String("username"))
			return nil
		},
	}
}
