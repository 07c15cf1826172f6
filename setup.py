"""Install mti_nb from the metadata in settings.ini (nbdev 2 layout, no pkg_resources)."""
import shlex
from configparser import ConfigParser

import setuptools
from setuptools.command.sdist import sdist

config = ConfigParser(delimiters=['='])
config.read('settings.ini', encoding='utf-8')
cfg = config['DEFAULT']

for key in 'version description keywords author author_email license git_url lib_name min_python'.split():
    assert key in cfg, f'settings.ini is missing "{key}"'

licenses = {'apache2': 'Apache-2.0'}  # SPDX expression (license classifiers are deprecated)
statuses = ['1 - Planning', '2 - Pre-Alpha', '3 - Alpha', '4 - Beta', '5 - Production/Stable', '6 - Mature', '7 - Inactive']
min_python = cfg['min_python']


def reqs(key: str) -> list[str]:
    """Split a space-separated requirement list from settings.ini (quotes allowed)."""
    return shlex.split(cfg.get(key, ''))


class SDist(sdist):
    """An sdist that carries settings.ini, which this setup.py reads (no MANIFEST.in needed)."""
    def make_distribution(self):
        self.filelist.append('settings.ini')
        super().make_distribution()


setuptools.setup(
    cmdclass={'sdist': SDist},
    name=cfg['lib_name'],
    version=cfg['version'],
    description=cfg['description'],
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    license=licenses.get(cfg['license'].lower(), cfg['license']),
    classifiers=[
        'Development Status :: ' + statuses[int(cfg['status'])],
        'Intended Audience :: ' + cfg['audience'].title(),
        'Natural Language :: ' + cfg['language'].title(),
        'Topic :: Scientific/Engineering :: Artificial Intelligence',
    ],
    url=cfg['git_url'],
    author=cfg['author'],
    author_email=cfg['author_email'],
    keywords=cfg['keywords'],
    packages=setuptools.find_packages(include=[cfg['lib_name'], cfg['lib_name'] + '.*']),
    include_package_data=True,
    install_requires=reqs('requirements'),
    extras_require={'dev': reqs('dev_requirements')},
    python_requires='>=' + min_python,
    zip_safe=False,
    entry_points={
        'console_scripts': reqs('console_scripts'),
        'nbdev': [f'{cfg["lib_path"]}={cfg["lib_path"]}._modidx:d'],
    },
)
