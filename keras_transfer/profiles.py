"""The three profiles every experiment runs under.

- `smoke`: seconds, tiny data, for the tests; the same code as the other two.
- `quick`: minutes on a 2-core CPU with no internet, on real data that installs from a package registry
  (Fashion-MNIST, scikit-learn's photos) and a source network the project pretrains itself.
- `full`: the lecture's own setup (ImageNet VGG19, Oxford-17, Oxford-IIIT Pet, MNIST-M, ...); downloads what it
  needs; meant for a GPU.
"""

PROFILES = ("smoke", "quick", "full")


def check_profile(profile):
    """Returns `profile` if it is one of `PROFILES`, else raises a `ValueError` that names it."""
    if profile not in PROFILES:
        raise ValueError(
            f"Unknown profile: expected one of {', '.join(PROFILES)}. Received: profile={profile!r}"
        )
    return profile


def select(configs, profile, overrides=None):
    """Picks the config of `profile` from `configs` (a dict keyed by profile) and applies `overrides`.

    An override whose key the config does not have is refused, so a typo cannot silently do nothing.
    """
    check_profile(profile)
    config = dict(configs[profile])
    for key, value in (overrides or {}).items():
        if key not in config:
            raise ValueError(
                f"Unknown setting for profile {profile!r}: expected one of {sorted(config)}. "
                f"Received: {key}={value!r}"
            )
        config[key] = value
    return config
