/* Keys of Docker Desktop's admin-settings.json (configurationFileVersion 2)
 * that moat reads without applying.  They give a warning naming them, so
 * that a file written for Docker Desktop can be reused as it is.  Source:
 * Docker's "Configure Settings Management with a JSON file" reference.
 * Keep docs/settings.md in step with this table. */
#include <string.h>

#include "internal.h"

const struct dd_key policy_dd_keys[] = {
  { "exposeDockerAPIOnTCP2375", "moat never exposes the Docker API on TCP" },
  { "proxy", "moat does not proxy its own traffic; containersProxy governs "
             "containers" },
  { "linuxVM", "moat runs no VM" },
  { "kubernetes", NULL },
  { "windowsContainers", NULL },
  { "disableUpdate", NULL },
  { "silentModulesUpdate", NULL },
  { "analyticsEnabled", "moat sends no usage statistics" },
  { "extensionsPrivateMarketplaceAdminContactURL", NULL },
  { "scout", NULL },
  { "allowExperimentalFeatures", NULL },
  { "allowBetaFeatures", NULL },
  { "enableDockerAI", NULL },
  { "enableDockerMCPToolkit", NULL },
  { "blockDockerLoad", NULL },
  { "filesharingAllowedDirectories", "moat uses filesharingDirectories "
                                     "{\"locked\", \"value\": [paths]}" },
  { "useVirtualizationFrameworkVirtioFS", NULL },
  { "useVirtualizationFrameworkRosetta", NULL },
  { "useGrpcfuse", NULL },
  { "displayedOnboarding", NULL },
  { "desktopTerminalEnabled", NULL },
  { "enableInference", NULL },
  { "enableInferenceTCP", NULL },
  { "enableInferenceTCPPort", NULL },
  { "enableInferenceCORS", NULL },
  { "enableInferenceGPUVariant", NULL },
  { "portBindingBehavior", NULL },
  { "defaultNetworkingMode", NULL },
  { "dnsInhibition", NULL },
};
const size_t policy_n_dd_keys
    = sizeof policy_dd_keys / sizeof policy_dd_keys[0];

const struct dd_key *
policy_dd_key_find (const char *name)
{
  for (size_t i = 0; i < policy_n_dd_keys; i++)
    if (strcmp (policy_dd_keys[i].name, name) == 0)
      return &policy_dd_keys[i];
  return NULL;
}
