// The hook runner that forward hands to a connection module: runs a site's hooks (identity when
// none) and says whether a site is hooked, so that optional splits are made only when observed.
import type { Tensor } from '../../engine/tf.ts';
import type { HookSite } from '../hooks.ts';

export interface SiteHook {
  (site: HookSite, x: Tensor): Tensor;
  hooked(site: HookSite): boolean;
}
