package npm

import (
	"strings"

	user_model "wharf/models/user"
)

// ShownEmail is the address of u that viewer is shown in npm documents
// (_npmUser, maintainers, search results, the user document of `npm owner
// add`): the real one only to the user itself and to administrators, as
// the REST API keeps account details to them; anyone else, signed in or
// not, gets the user's no-reply address, Gitea's "{name}@{NoReplyAddress}"
// placeholder, because npm needs an address in those places.
// noReplyDomain is "noreply." and the instance's host name.
func ShownEmail(u, viewer *user_model.User, noReplyDomain string) string {
	if viewer != nil && (viewer.ID == u.ID || viewer.IsAdmin) {
		return u.Email
	}
	return strings.ToLower(u.Name) + "@" + noReplyDomain
}
