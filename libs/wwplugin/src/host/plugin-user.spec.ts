import { afterEach, describe, expect, it, vi } from 'vitest';
import { PluginSandboxError } from '../errors/wwplugin.errors.js';
import { pluginIdentity } from './plugin-user.js';

describe('pluginIdentity', () => {
  afterEach(() => vi.restoreAllMocks());

  it('is empty without user and group: the plugin runs as the host', () => {
    expect(pluginIdentity({ path: 'p.js' })).toEqual({});
  });

  it("resolves names and ids; without a group, the user's primary group", () => {
    vi.spyOn(process, 'getuid').mockReturnValue(0);
    expect(pluginIdentity({ path: 'p.js', user: 'root' })).toEqual({ uid: 0, gid: 0 });
    expect(pluginIdentity({ path: 'p.js', user: 65534, group: '65534' })).toEqual({ uid: 65534, gid: 65534 });
  });

  it('a host that is not root may not switch users: PluginSandboxError saying so', () => {
    vi.spyOn(process, 'getuid').mockReturnValue(1000);
    vi.spyOn(process, 'getgid').mockReturnValue(1000);
    const attempt = () => pluginIdentity({ name: 'p', path: 'p.js', user: 65534 });
    expect(attempt).toThrow(PluginSandboxError);
    expect(attempt).toThrow(/may not switch users: run the host as root/);
    // Its own identity, given explicitly, is no switch.
    expect(pluginIdentity({ path: 'p.js', user: 1000, group: 1000 })).toEqual({ uid: 1000, gid: 1000 });
  });

  it('a name that does not exist: PluginSandboxError naming it', () => {
    expect(() => pluginIdentity({ path: 'p.js', group: 'no-such-group-wwplugin' })).toThrow(/No group "no-such-group-wwplugin"/);
  });
});
