"""The Hosts dialog's Slurm clusters and prices: saved to hosts.json with every field and
shown again, a time limit Slurm would refuse is refused naming the field, the Slurm rows
show only for a cluster, and an SSH host keeps working as before."""

from __future__ import annotations

import pytest

from app.dialogs.hosts_slurm import check_time_limit
from engine.project import ProjectError
from engine.remote.config import load_hosts


def _slurm(d, name="cluster1", time_limit="1-00:00:00", price="3.20", currency="EUR"):
    d.new_host()
    d.name.setText(name)
    d.host.setText("login.cluster.org")
    x = d.extras
    x.kind.setCurrentIndex(x.kind.findData("slurm"))
    x.partition.setText("gpu")
    x.account.setText("lab42")
    x.time_limit.setText(time_limit)
    x.nodes.setValue(2)
    x.gpus_per_node.setValue(4)
    x.price.setText(price)
    x.currency.setCurrentText(currency)


def test_a_slurm_cluster_is_saved_with_every_field_and_shown_again(dialog):
    _slurm(dialog)
    assert dialog.save_host(), dialog.result.toPlainText()
    h = load_hosts()["cluster1"]
    assert (h.kind, h.host, h.partition, h.account, h.time_limit, h.nodes, h.gpus_per_node,
            h.price_per_hour, h.currency) == ("slurm", "login.cluster.org", "gpu", "lab42",
                                              "1-00:00:00", 2, 4, 3.2, "EUR")
    saved = dialog.result.toPlainText()
    assert "partition gpu" in saved and "3.2 EUR per hour per node" in saved

    dialog.new_host()  # the form is cleared...
    assert dialog.extras.kind.currentData() == "ssh" and dialog.extras.price.text() == ""
    dialog.reload(select="cluster1")  # ...and the stored cluster comes back in it
    dialog.show_host(load_hosts()["cluster1"])
    x = dialog.extras
    assert x.kind.currentData() == "slurm"
    assert (x.partition.text(), x.account.text(), x.time_limit.text()) == (
        "gpu", "lab42", "1-00:00:00")
    assert (x.nodes.value(), x.gpus_per_node.value()) == (2, 4)
    assert (x.price.text(), x.currency.currentText()) == ("3.2", "EUR")


def test_slurm_rows_show_only_for_a_cluster(dialog):
    dialog.show()
    dialog.new_host()
    x, form = dialog.extras, dialog.form
    slurm_rows = (x.partition, x.account, x.time_limit, x.nodes, x.gpus_per_node)
    assert not any(form.isRowVisible(w) for w in slurm_rows)
    assert form.isRowVisible(x.price_row)  # every host may have a price
    x.kind.setCurrentIndex(x.kind.findData("slurm"))
    assert all(form.isRowVisible(w) for w in slurm_rows)


def test_a_bad_time_limit_is_refused_naming_the_field(dialog):
    _slurm(dialog, time_limit="4h")
    assert not dialog.save_host()
    text = dialog.result.toPlainText()
    assert "Time limit" in text and "4:00:00" in text and "1-00:00:00" in text
    assert "cluster1" not in load_hosts()
    _slurm(dialog, time_limit="2:75:00")  # minutes above 59
    assert not dialog.save_host() and "Time limit" in dialog.result.toPlainText()


@pytest.mark.parametrize("good", ["", "90", "30:00", "4:00:00", "1-00", "1-12:30",
                                  "2-00:00:00", "unlimited"])
def test_slurm_time_formats_are_taken(good):
    assert check_time_limit(good) == (good.upper() if good == "unlimited" else good)


@pytest.mark.parametrize("bad", ["4h", "1:2:3:4", "1-25:00:00", "-1", "1 day", "4:00:60"])
def test_other_time_formats_are_refused(bad):
    with pytest.raises(ProjectError, match="Time limit"):
        check_time_limit(bad)


def test_price_of_an_ssh_host_is_saved_and_nothing_else_changes(dialog):
    dialog.new_host()
    dialog.name.setText("rented")
    dialog.host.setText("203.0.113.7")
    dialog.extras.price.setText("1,10")  # a comma as the decimal point
    assert dialog.save_host(), dialog.result.toPlainText()
    h = load_hosts()["rented"]
    assert (h.kind, h.price_per_hour, h.currency, h.partition, h.nodes) == (
        "ssh", 1.1, "USD", "", 1)
    dialog.extras.price.setText("cheap")
    assert not dialog.save_host()
    assert "Price per hour" in dialog.result.toPlainText()
    assert load_hosts()["rented"].price_per_hour == 1.1
    dialog.extras.price.clear()  # no price: none stored
    assert dialog.save_host()
    assert load_hosts()["rented"].price_per_hour is None


def test_this_computers_price_is_set_in_the_dialog_and_read_by_local_runs(dialog):
    from app.dialogs.hosts import HostsDialog
    from engine.train.usage import local_price, price_of

    box = dialog.local_price
    box.price.setText("abc")
    assert not box.save() and "Price per hour" in dialog.result.toPlainText()
    assert local_price() == (None, "USD")  # nothing written
    box.price.setText("0,40")
    box.currency.setCurrentText("EUR")
    assert box.save() and "0.4 EUR per hour" in dialog.result.toPlainText()
    assert local_price() == (0.4, "EUR")
    assert price_of(None)["per_hour"] == 0.4  # what a local run's job carries
    again = HostsDialog()  # shown again when the dialog is opened next time
    assert (again.local_price.price.text(), again.local_price.currency.currentText()) == \
        ("0.4", "EUR")
    again.close()
