package user

import (
	"context"

	"wharf/models/auth"
	"wharf/models/db"
	user_model "wharf/models/user"
)

// TokenByName returns one of u's tokens by its name (unique per user), for
// a page that confirms what it is about to revoke.
func (s *Service) TokenByName(ctx context.Context, u *user_model.User, name string) (*auth.AccessToken, error) {
	if !storable(name) {
		return nil, auth.ErrTokenNotExist
	}
	return auth.GetTokenByName(ctx, s.d.DB.Engine(), u.ID, name)
}

// DeleteTokenByName deletes one of u's tokens named exactly name. Unlike
// DeleteToken it never falls back to reading the name as an id: a page
// that confirmed "revoke token 7" must not revoke the token whose id is 7
// when the one named "7" is already gone.
func (s *Service) DeleteTokenByName(ctx context.Context, u *user_model.User, name string) error {
	if !storable(name) {
		return auth.ErrTokenNotExist
	}
	return s.d.DB.WithTx(ctx, func(tx db.Engine) error {
		t, err := auth.GetTokenByName(ctx, tx, u.ID, name)
		if err != nil {
			return err
		}
		return auth.DeleteToken(ctx, tx, u.ID, t.ID)
	})
}
